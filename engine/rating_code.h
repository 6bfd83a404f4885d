// A case's rating code (docs/security.md, "Ratings"): what lets the
// petitioner, and nobody who merely knows the case number, rate the answer.
//
// The door that takes a case in (`casegrid act CASE intake`, the coming HTTP
// server) draws a code, sends it in the intake command's data as
// "rating_code" and prints it on the citizen's receipt. The decider keeps
// only RatingCodeDigest in the case_reported event (and the case's state); a
// `rate` of a case with a digest must carry the same code in its data, and a
// code is used up by the rating it allows until the case is reopened and
// answered again. Neither the code nor its digest is in any read model.
//
// A code is 12 symbols of Crockford's base32 (60 random bits), printed
// XXXX-XXXX-XXXX: its digest on the event stream cannot be searched back to
// it in any useful time, and a person can read it out on the phone.
#ifndef CASEGRID_ENGINE_RATING_CODE_H_
#define CASEGRID_ENGINE_RATING_CODE_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "engine/rules.h"

namespace casegrid::engine {

// The data key of intake and rate commands that carries the code. It is
// casegrid's own, not a field of the definition: the decider takes it out
// before it checks the action's fields, and never writes it.
inline constexpr std::string_view kRatingCodeField = "rating_code";

// A new code from the OS's random source, formatted XXXX-XXXX-XXXX.
// IOError when there is no random source.
Result<std::string> NewRatingCode();

// The code's 12 symbols in upper case without separators ('-' and spaces are
// dropped, lower case is read as upper, O as 0, I and L as 1, as Crockford
// reads them). InvalidArgument says what is wrong, never echoing the text.
Result<std::string> NormalizeRatingCode(std::string_view text);

// SHA-256 of "casegrid rating code v1\n" case_id "\n" normalized: what the
// case_reported event keeps (32 bytes).
std::string RatingCodeDigest(std::string_view case_id, std::string_view normalized);

// What a door does for a command it takes in: when `command` opens a case
// (its action's effect is open_case in its workflow under `config`) and its
// data brings no code, draws one and puts it in the data; returns the code
// to print on the receipt, or "" when it drew none.
Result<std::string> GiveRatingCode(const Config& config, casegrid::v1::Command* command);

// Whether two digests are equal, in time that does not depend on where they
// differ.
bool SameRatingDigest(std::string_view a, std::string_view b);

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_RATING_CODE_H_
