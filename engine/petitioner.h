// Petitioners and repeat demands (docs/workflows.md, "Repeat demands";
// docs/security.md, "Petitioner keys").
//
// The 125 rule is for first visits (初信初访). To tell a first visit from a
// repeat (重信重访) casegrid links a person's cases without keeping who the
// person is in the clear: at intake the decider derives the petitioner's
// keys, a keyed hash (HMAC-SHA256, cut to 16 bytes) of the normalized
// resident identity number and one of the normalized phone number, under
// the district's petitioner key (a secret file beside the data: nobody
// without it can test a phone number against a key). The keys are recorded
// in case_reported outside the sealed personal fields, so erasing a case's
// personal data leaves its links; the engine indexes them (StateStore) and
// the decider marks a case taken in whose petitioner had an earlier case of
// the same category within the definition's repeat_within_days as a repeat
// of the latest such case (case_reported.repeat_of; the case's condition
// field `repeat`).
#ifndef CASEGRID_ENGINE_PETITIONER_H_
#define CASEGRID_ENGINE_PETITIONER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace casegrid::engine {

// The length of a petitioner key, and of the district's petitioner key
// (the secret) it is made with.
inline constexpr size_t kPetitionerKeyBytes = 16;
inline constexpr size_t kPetitionerSecretBytes = 32;

// The phone number as digits only: spaces, '-', '.', '(' and ')' dropped,
// a leading +86, 0086 or (for an 11-digit mobile number) 86 dropped; any
// other leading '+' is kept. InvalidArgument, naming what is wrong without
// echoing the text, unless 5 to 15 digits are left.
Result<std::string> NormalizePhone(std::string_view text);

// A resident identity number (GB 11643): 17 digits and a check digit or X
// (x read as X), its check digit right. Spaces are dropped. InvalidArgument
// otherwise, without echoing the text.
Result<std::string> NormalizeIdNumber(std::string_view text);

// The key of one identifier: HMAC-SHA256 under `secret` of
// "casegrid petitioner v1\n" kind "\n" normalized, its first 16 bytes.
// kind: "id" or "phone".
std::string PetitionerKey(std::string_view secret, std::string_view kind,
                          std::string_view normalized);

// A case the index holds for a petitioner key.
struct EarlierCase {
  std::string case_id;
  std::string category;
  int64_t opened_micros = 0;  // its case_reported's occurred time
};

// Where the decider finds a petitioner's earlier cases (the engine's state
// store; a test's map).
class PetitionerIndex {
 public:
  virtual ~PetitionerIndex() = default;
  // Appends to *out every case taken in with `key`, in any order.
  virtual Status CasesWith(std::string_view key, std::vector<EarlierCase>* out) = 0;
};

}  // namespace casegrid::engine

#endif  // CASEGRID_ENGINE_PETITIONER_H_
