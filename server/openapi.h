// The OpenAPI 3.1 document of the HTTP API (server/openapi.json, built into
// the binary so it serves without the source tree): GET /v1/openapi.json.
// A test holds it to HttpApi::Routes(): every route documented, every
// documented route served.
#ifndef CASEGRID_SERVER_OPENAPI_H_
#define CASEGRID_SERVER_OPENAPI_H_

#include <string_view>

namespace casegrid::server {

// The document's JSON text, as in server/openapi.json.
std::string_view OpenApiDocument();

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_OPENAPI_H_
