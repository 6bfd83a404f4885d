// Open311 GeoReport v2 (docs/open311.md) over casegrid: what the HTTP API's
// /open311/v2 routes say, in the standard's shapes. A service is a workflow
// definition that opens cases (service_code = its id); its attributes are
// the intake action's fields; a service request is a case (its id).
// Pure functions over the configuration and read models: the HTTP API
// (http_public.cc) authenticates, scopes and applies.
#ifndef CASEGRID_SERVER_OPEN311_H_
#define CASEGRID_SERVER_OPEN311_H_

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "engine/rules.h"
#include "projections/projection.h"

namespace casegrid::server::open311 {

// Ordered: the XML of the standard lists each element in its place.
using Json = nlohmann::ordered_json;

// GET services: one per definition in force with an intake (open_case)
// action, newest version of each.
Json Services(const engine::Config& config);

// GET services/{code}: the intake's fields as attributes (string, number,
// singlevaluelist), but those the request's standard fields carry
// (description, first_name and last_name, phone). NotFound for no such service.
Result<Json> ServiceDefinition(const engine::Config& config, std::string_view code);

// POST requests: the intake command line (NDJSON, engine/command_json.h) for
// `form`, a form-encoded request (service_code, description, first_name,
// last_name, phone, address_id, attribute[NAME]), taken in as `role` of
// `unit` (a grant of the api_key's user) with case id `case_id`.
// InvalidArgument naming the field for a request that lacks or garbles one.
Result<std::string> RequestCommand(const engine::Config& config,
                                   const std::multimap<std::string, std::string>& form,
                                   const std::string& role, const std::string& unit,
                                   const std::string& case_id);

// A case as a service request: status open|closed, the responsible unit's
// name, requested, updated and expected (the last open deadline) times, the
// grid cell as address and address_id; the description (what was asked)
// only when `personal`.
Json Request(const projections::CaseView& view, const engine::Config& config, bool personal);

// The document in the standard's XML: `root` holding one `item` element per
// object of `list` (a JSON array of flat objects, arrays of objects nested
// the same way), UTF-8 with its declaration.
std::string Xml(const Json& list, std::string_view root, std::string_view item);
// One object's fields under `root` (a service definition).
std::string XmlObject(const Json& object, std::string_view root);

// An error document: [{"code", "description"}] (JSON) or <errors> (XML).
std::string Error(int code, const std::string& description, bool xml);

}  // namespace casegrid::server::open311

#endif  // CASEGRID_SERVER_OPEN311_H_
