// Rating codes: drawn, read and digested (rating_code.h).
#include "engine/rating_code.h"

#include <openssl/crypto.h>

#include <array>

#include "base/random.h"
#include "events/log.h"

namespace casegrid::engine {

namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford
constexpr size_t kSymbols = 12;

}  // namespace

Result<std::string> NewRatingCode() {
  std::array<unsigned char, kSymbols> random{};
  if (!DrawRandom(random.data(), random.size())) {
    return Status::IOError("no random bytes for a rating code");
  }
  std::string code;
  for (size_t i = 0; i < kSymbols; ++i) {
    if (i > 0 && i % 4 == 0) code.push_back('-');
    code.push_back(kAlphabet[random[i] % kAlphabet.size()]);  // 256 = 8 * 32: no bias
  }
  return code;
}

Result<std::string> NormalizeRatingCode(std::string_view text) {
  std::string out;
  for (const char raw : text) {
    if (raw == '-' || raw == ' ') continue;
    char c = (raw >= 'a' && raw <= 'z') ? static_cast<char>(raw - 'a' + 'A') : raw;
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (kAlphabet.find(c) == std::string_view::npos) {
      return Status::InvalidArgument(
          "a rating code has only the digits and the letters of XXXX-XXXX-XXXX as printed on the "
          "receipt");
    }
    if (out.size() > kSymbols) break;
    out.push_back(c);
  }
  if (out.size() != kSymbols) {
    return Status::InvalidArgument("a rating code has 12 symbols (XXXX-XXXX-XXXX)");
  }
  return out;
}

std::string RatingCodeDigest(std::string_view case_id, std::string_view normalized) {
  return events::Sha256Concat({"casegrid rating code v1\n", case_id, "\n", normalized});
}

bool SameRatingDigest(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> GiveRatingCode(const Config& config, casegrid::v1::Command* command) {
  auto def = config.workflows->Latest(command->workflow().empty() ? config.default_workflow
                                                                  : command->workflow());
  if (!def.ok()) return std::string();  // the decider says what is wrong
  const auto* action = (*def)->FindAction(command->action());
  if (action == nullptr || action->effect() != casegrid::v1::OPEN_CASE ||
      command->data().fields().contains(std::string(kRatingCodeField))) {
    return std::string();
  }
  CASEGRID_ASSIGN_OR_RETURN(std::string code, NewRatingCode());
  (*command->mutable_data()->mutable_fields())[std::string(kRatingCodeField)].set_string_value(
      code);
  return code;
}

}  // namespace casegrid::engine
