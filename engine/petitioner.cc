// Petitioner keys: identifiers normalized and hashed (petitioner.h).
#include "engine/petitioner.h"

#include <sodium.h>

#include <array>

namespace casegrid::engine {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::string> NormalizePhone(std::string_view text) {
  std::string digits;
  bool plus = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    if (c == '+' && digits.empty() && !plus) {
      plus = true;
      continue;
    }
    if (!IsDigit(c)) {
      return Status::InvalidArgument(
          "not a phone number: digits only, with spaces, '-', '(' and ')' and a leading "
          "+86 allowed");
    }
    digits.push_back(c);
  }
  if (plus) {
    if (digits.starts_with("86")) {
      digits.erase(0, 2);
    } else {
      digits.insert(0, "+");
    }
  } else if (digits.starts_with("0086")) {
    digits.erase(0, 4);
  } else if (digits.size() == 13 && digits.starts_with("861")) {
    digits.erase(0, 2);
  }
  const size_t n = digits.size() - (digits.starts_with('+') ? 1 : 0);
  if (n < 5 || n > 15) {
    return Status::InvalidArgument("not a phone number: " + std::to_string(n) +
                                   " digits, a phone number has 5 to 15");
  }
  return digits;
}

Result<std::string> NormalizeIdNumber(std::string_view text) {
  std::string id;
  for (const char c : text) {
    if (c == ' ') continue;
    id.push_back(c == 'x' ? 'X' : c);
  }
  const auto bad = [](const std::string& why) {
    return Status::InvalidArgument("not a resident identity number: " + why);
  };
  if (id.size() != 18) {
    return bad(std::to_string(id.size()) + " characters, one has 18 (17 digits and a check digit)");
  }
  static constexpr std::array<int, 17> kWeights = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                                   3, 7, 9,  10, 5, 8, 4, 2};
  static constexpr std::string_view kCheck = "10X98765432";
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    if (!IsDigit(id[i])) return bad("its first 17 characters must be digits");
    sum += (id[i] - '0') * kWeights[i];
  }
  if (id[17] != kCheck[static_cast<size_t>(sum % 11)]) {
    return bad("its check digit (the 18th character) does not match the first 17");
  }
  return id;
}

std::string PetitionerKey(std::string_view secret, std::string_view kind,
                          std::string_view normalized) {
  std::string message = "casegrid petitioner v1\n";
  message.append(kind);
  message.push_back('\n');
  message.append(normalized);
  crypto_auth_hmacsha256_state state;
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, mac.data());
  sodium_memzero(message.data(), message.size());
  return {reinterpret_cast<const char*>(mac.data()), kPetitionerKeyBytes};
}

}  // namespace casegrid::engine
