// Personal data, sealed and erasable (personal.h).
#include "events/personal.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "base/random.h"
#include "events/log.h"

namespace casegrid::events {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr std::string_view kMagic = "CGKEYS01";
constexpr size_t kHeaderBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
static_assert(kNonceBytes + kTagBytes == kSealOverhead);

// ---- Which fields are personal ----

struct PersonalPath {
  std::vector<const FieldDescriptor*> path;  // message fields, then the string leaf
  std::string name;                          // "case_reported.petitioner.phone"
};

void Collect(const Descriptor* type, std::vector<const FieldDescriptor*>* prefix,
             std::vector<PersonalPath>* out) {
  if (prefix->size() > 6) return;
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* f = type->field(i);
    if (f->is_repeated()) continue;
    if (f->type() == FieldDescriptor::TYPE_STRING && f->options().GetExtension(v1::personal)) {
      PersonalPath p;
      p.path = *prefix;
      p.path.push_back(f);
      for (const auto* step : p.path) p.name += (p.name.empty() ? "" : ".") + step->name();
      out->push_back(std::move(p));
    } else if (f->type() == FieldDescriptor::TYPE_MESSAGE &&
               f->message_type()->file()->package() == "casegrid.v1") {
      prefix->push_back(f);
      Collect(f->message_type(), prefix, out);
      prefix->pop_back();
    }
  }
}

std::vector<PersonalPath> Compute(const Descriptor* type) {
  std::vector<PersonalPath> paths;
  std::vector<const FieldDescriptor*> prefix;
  Collect(type, &prefix, &paths);
  return paths;
}

const std::vector<PersonalPath>& PathsOf(const Descriptor* type) {
  // Events, sealed on every write, without a lock.
  if (type == v1::Event::descriptor()) {
    static const auto* event_paths = new std::vector<PersonalPath>(Compute(type));
    return *event_paths;
  }
  // Others (a read model's view) from a map, the last one looked up kept
  // per thread (map nodes do not move).
  thread_local const Descriptor* last_type = nullptr;
  thread_local const std::vector<PersonalPath>* last_paths = nullptr;
  if (type == last_type) return *last_paths;
  static std::mutex mu;
  static std::map<const Descriptor*, std::vector<PersonalPath>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(type);
  if (it == cache.end()) it = cache.emplace(type, Compute(type)).first;
  last_type = type;
  last_paths = &it->second;
  return it->second;
}

// The paths that can hold a value in `m`: for an event only those under
// the payload it holds (and any outside the payload), a handful, where its
// type has dozens; for another message all of its type's.
const std::vector<PersonalPath>& PathsIn(const Message& m) {
  const Descriptor* type = m.GetDescriptor();
  if (type != v1::Event::descriptor()) return PathsOf(type);
  // Indexed by the payload's field number (0: none, the paths outside it).
  static const auto* by_payload = [] {
    const auto* payload = v1::Event::descriptor()->FindOneofByName("payload");
    int last = 0;
    for (int i = 0; i < payload->field_count(); ++i) {
      last = std::max(last, payload->field(i)->number());
    }
    auto* groups = new std::vector<std::vector<PersonalPath>>(last + 1);
    std::vector<PersonalPath> outside;
    for (const auto& p : PathsOf(v1::Event::descriptor())) {
      if (p.path[0]->containing_oneof() == payload) {
        (*groups)[p.path[0]->number()].push_back(p);
      } else {
        outside.push_back(p);
      }
    }
    for (auto& paths : *groups) paths.insert(paths.end(), outside.begin(), outside.end());
    return groups;
  }();
  const auto number = static_cast<size_t>(static_cast<const v1::Event&>(m).payload_case());
  return (*by_payload)[number < by_payload->size() ? number : 0];
}

// The message holding the leaf of `p` in `m`, or null when a step is not set.
const Message* Holder(const Message& m, const PersonalPath& p) {
  const Message* cur = &m;
  for (size_t i = 0; i + 1 < p.path.size(); ++i) {
    if (!cur->GetReflection()->HasField(*cur, p.path[i])) return nullptr;
    cur = &cur->GetReflection()->GetMessage(*cur, p.path[i]);
  }
  return cur;
}

Message* MutableHolder(Message* m, const PersonalPath& p) {
  Message* cur = m;
  for (size_t i = 0; i + 1 < p.path.size(); ++i) {
    cur = cur->GetReflection()->MutableMessage(cur, p.path[i]);
  }
  return cur;
}

// ---- AES-256-GCM ----

bool Gcm(bool encrypt, std::string_view key, std::string_view nonce, std::string_view aad,
         std::string_view in, std::string* out) {
  // One context per thread. A message under the key and direction of the
  // one before it sets only its nonce: the key schedule is kept (a case's
  // events are sealed one after another).
  struct Context {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    std::array<unsigned char, 32> key{};
    int direction = -1;  // -1: none set (or the last message failed)
    ~Context() {
      OPENSSL_cleanse(key.data(), key.size());
      EVP_CIPHER_CTX_free(ctx);
    }
  };
  thread_local Context context;
  EVP_CIPHER_CTX* ctx = context.ctx;
  if (ctx == nullptr || key.size() != context.key.size()) return false;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* iv = reinterpret_cast<const unsigned char*>(nonce.data());
  const bool same_key = context.direction == static_cast<int>(encrypt) &&
                        CRYPTO_memcmp(context.key.data(), k, context.key.size()) == 0;
  // Fetched once: EVP_aes_256_gcm() makes OpenSSL 3 fetch it at each set-up.
  static EVP_CIPHER* const kAes256Gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (kAes256Gcm == nullptr) return false;
  const EVP_CIPHER* cipher = same_key ? nullptr : kAes256Gcm;
  if (same_key) k = nullptr;
  context.direction = -1;
  bool ok = (encrypt ? EVP_EncryptInit_ex(ctx, cipher, nullptr, k, iv)
                     : EVP_DecryptInit_ex(ctx, cipher, nullptr, k, iv)) == 1;
  if (ok && !same_key) std::memcpy(context.key.data(), key.data(), context.key.size());
  int len = 0;
  const size_t body = encrypt ? in.size() : in.size() - kTagBytes;
  out->resize(body + (encrypt ? kTagBytes : 0));
  auto* o = reinterpret_cast<unsigned char*>(out->data());
  const auto* i = reinterpret_cast<const unsigned char*>(in.data());
  if (ok && !aad.empty()) {
    ok = (encrypt ? EVP_EncryptUpdate(ctx, nullptr, &len,
                                      reinterpret_cast<const unsigned char*>(aad.data()),
                                      static_cast<int>(aad.size()))
                  : EVP_DecryptUpdate(ctx, nullptr, &len,
                                      reinterpret_cast<const unsigned char*>(aad.data()),
                                      static_cast<int>(aad.size()))) == 1;
  }
  if (ok) {
    ok = (encrypt ? EVP_EncryptUpdate(ctx, o, &len, i, static_cast<int>(body))
                  : EVP_DecryptUpdate(ctx, o, &len, i, static_cast<int>(body))) == 1;
  }
  if (ok && encrypt) {
    ok = EVP_EncryptFinal_ex(ctx, o + len, &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, o + body) == 1;
  } else if (ok) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): OpenSSL's API takes void*
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes,
                             const_cast<unsigned char*>(i + body)) == 1 &&
         EVP_DecryptFinal_ex(ctx, o + len, &len) == 1;
  }
  // A failed message (a forged tag) leaves the context as a full set-up would.
  if (ok) context.direction = static_cast<int>(encrypt);
  return ok;
}

bool AllZero(std::string_view bytes) {
  for (const char c : bytes) {
    if (c != 0) return false;
  }
  return true;
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError("key store " + path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

// ---- Key stores ----

void KeyStore::Drawn(uint64_t slot, std::string key) {
  if (drawn_.size() >= 65536) drawn_.clear();
  drawn_[slot] = std::move(key);
}

Status KeyStore::SealingKey(uint64_t slot, std::string* key) {
  if (auto it = drawn_.find(slot); it != drawn_.end()) {
    *key = it->second;
    return Status::Ok();
  }
  switch (Key(slot, key)) {
    case KeyState::kLive:
      return Status::Ok();
    case KeyState::kErased:
      return Status::InvalidArgument("the data key " + std::to_string(slot) + " was erased");
    case KeyState::kMissing:
      break;
  }
  return Status::Corruption("key store " + name() + " has no data key " + std::to_string(slot) +
                            " (a key store older than the log: restore the one taken with it)");
}

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Status::IOError("no random bytes");
  }
  return out;
}

Result<std::string> SealBytes(std::string_view key, std::string_view aad,
                              std::string_view plaintext) {
  CASEGRID_ASSIGN_OR_RETURN(std::string nonce, RandomBytes(kNonceBytes));
  std::string cipher;
  if (key.size() != KeyStore::kKeyBytes || !Gcm(true, key, nonce, aad, plaintext, &cipher)) {
    return Status::IOError("cannot seal with AES-256-GCM");
  }
  return nonce + cipher;
}

bool OpenBytes(std::string_view key, std::string_view aad, std::string_view sealed,
               std::string* plaintext) {
  if (key.size() != KeyStore::kKeyBytes || sealed.size() < kNonceBytes + kTagBytes) return false;
  const bool ok =
      Gcm(false, key, sealed.substr(0, kNonceBytes), aad, sealed.substr(kNonceBytes), plaintext);
  if (!ok) {
    OPENSSL_cleanse(plaintext->data(), plaintext->size());
    plaintext->clear();
  }
  return ok;
}

namespace {

class KeyFile final : public KeyStore {
 public:
  KeyFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~KeyFile() override { ::close(fd_); }
  KeyFile(const KeyFile&) = delete;
  KeyFile& operator=(const KeyFile&) = delete;

  Result<uint64_t> NewKey() override;
  KeyState Key(uint64_t slot, std::string* key) const override;
  Status Erase(uint64_t slot) override;
  const std::string& name() const override { return path_; }

 private:
  Status Refill();

  int fd_;
  std::string path_;
  std::vector<std::pair<uint64_t, std::string>> pool_;  // drawn, not yet used
};

}  // namespace

Result<std::unique_ptr<KeyStore>> OpenKeyFile(const std::string& path, bool create) {
  if (create) {
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) return Status::IOError("key store directory " + dir.string() + ": " + ec.message());
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    }
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no key store at " + path);
    return Errno("open", path);
  }
  std::unique_ptr<KeyStore> store = std::make_unique<KeyFile>(fd, path);
  // The header, written once under the lock by whoever finds the file empty.
  if (::flock(fd, LOCK_EX) != 0) return Errno("lock", path);
  struct stat st {};
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = Errno("stat", path);
  } else if (st.st_size == 0) {
    std::string header(kHeaderBytes, '\0');
    header.replace(0, kMagic.size(), kMagic);
    if (::pwrite(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
        ::fdatasync(fd) != 0) {
      s = Errno("write its header", path);
    }
  } else {
    std::string header(kHeaderBytes, '\0');
    if (static_cast<size_t>(st.st_size) < kHeaderBytes ||
        ::pread(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
        header.compare(0, kMagic.size(), kMagic) != 0) {
      s = Status::Corruption("key store " + path + ": not a casegrid key file");
    } else if (const size_t torn =
                   (static_cast<size_t>(st.st_size) - kHeaderBytes) % KeyStore::kKeyBytes;
               torn != 0) {
      // A refill cut short (power lost mid-append): its keys were never
      // synced, so no event names them. Cut back to the last whole key.
      if (::ftruncate(fd, static_cast<off_t>(static_cast<size_t>(st.st_size) - torn)) != 0 ||
          ::fdatasync(fd) != 0) {
        s = Errno("cut back a torn refill", path);
      }
    }
  }
  ::flock(fd, LOCK_UN);
  if (!s.ok()) return s;
  return store;
}

Status KeyFile::Refill() {
  std::string keys(kKeyFileRefill * KeyStore::kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(keys.data()), static_cast<int>(keys.size())) !=
      1) {
    return Status::IOError("no random bytes for data keys");
  }
  // A key of all zeros would read as erased: vanishingly rare, and avoided.
  for (size_t i = 0; i < kKeyFileRefill; ++i) {
    if (AllZero(std::string_view(keys).substr(i * KeyStore::kKeyBytes, KeyStore::kKeyBytes)))
      keys[i * KeyStore::kKeyBytes] = 1;
  }
  if (::flock(fd_, LOCK_EX) != 0) return Errno("lock", path_);
  struct stat st {};
  Status s;
  if (::fstat(fd_, &st) != 0) {
    s = Errno("stat", path_);
  } else {
    const auto end = static_cast<size_t>(st.st_size);
    if (::pwrite(fd_, keys.data(), keys.size(), static_cast<off_t>(end)) !=
            static_cast<ssize_t>(keys.size()) ||
        ::fdatasync(fd_) != 0) {
      s = Errno("append keys", path_);
      // A short write leaves a torn tail that Open reports; cut it back.
      if (::ftruncate(fd_, static_cast<off_t>(end)) != 0) s = Errno("append keys", path_);
    } else {
      const uint64_t first =
          end / KeyStore::kKeyBytes;  // the header is one slot's size: slot 1 first
      for (uint64_t i = kKeyFileRefill; i-- > 0;) {
        pool_.emplace_back(first + i, keys.substr(i * KeyStore::kKeyBytes, KeyStore::kKeyBytes));
      }
    }
  }
  ::flock(fd_, LOCK_UN);
  OPENSSL_cleanse(keys.data(), keys.size());
  return s;
}

Result<uint64_t> KeyFile::NewKey() {
  if (pool_.empty()) CASEGRID_RETURN_IF_ERROR(Refill());
  auto [slot, key] = std::move(pool_.back());
  pool_.pop_back();
  Drawn(slot, std::move(key));
  return slot;
}

KeyStore::KeyState KeyFile::Key(uint64_t slot, std::string* key) const {
  if (slot == 0) return KeyState::kMissing;
  key->resize(KeyStore::kKeyBytes);
  if (::pread(fd_, key->data(), KeyStore::kKeyBytes,
              static_cast<off_t>(slot * KeyStore::kKeyBytes)) !=
      static_cast<ssize_t>(KeyStore::kKeyBytes)) {
    key->clear();
    return KeyState::kMissing;
  }
  if (AllZero(*key)) {
    key->clear();
    return KeyState::kErased;
  }
  return KeyState::kLive;
}

Status KeyFile::Erase(uint64_t slot) {
  std::string key;
  const KeyState state = Key(slot, &key);
  OPENSSL_cleanse(key.data(), key.size());
  if (state == KeyState::kMissing) {
    return Status::NotFound("key store " + path_ + " has no key " + std::to_string(slot));
  }
  Forget(slot);
  if (state == KeyState::kErased) return Status::Ok();
  const std::string zeros(KeyStore::kKeyBytes, '\0');
  if (::pwrite(fd_, zeros.data(), zeros.size(), static_cast<off_t>(slot * KeyStore::kKeyBytes)) !=
          static_cast<ssize_t>(zeros.size()) ||
      ::fdatasync(fd_) != 0) {
    return Errno("erase key " + std::to_string(slot), path_);
  }
  return Status::Ok();
}

// ---- Sealing ----

void ReplacePersonal(Message* message, std::string_view text) {
  for (const auto& p : PathsIn(*message)) {
    const Message* holder = Holder(*message, p);
    if (holder == nullptr ||
        holder->GetReflection()->GetStringReference(*holder, p.path.back(), nullptr).empty()) {
      continue;
    }
    Message* mutable_holder = MutableHolder(message, p);
    mutable_holder->GetReflection()->SetString(mutable_holder, p.path.back(), std::string(text));
  }
}

namespace {
Status SecretFileError(std::string_view what, const std::string& op, const std::string& path) {
  return Status::IOError(std::string(what) + " " + path + ": " + op + ": " + std::strerror(errno));
}
}  // namespace

Result<std::string> ReadSecretFile(const std::string& path, std::string_view magic, size_t size,
                                   std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no " + std::string(what) + " at " + path);
    return SecretFileError(what, "open", path);
  }
  std::string bytes(magic.size() + size + 1, '\0');
  const ssize_t n = ::read(fd, bytes.data(), bytes.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(magic.size() + size) ||
      bytes.compare(0, magic.size(), magic) != 0) {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return Status::Corruption(std::string(what) + " " + path + ": not a casegrid " +
                              std::string(what) + " file (\"" + std::string(magic) + "\" and " +
                              std::to_string(size) + " bytes)");
  }
  std::string secret = bytes.substr(magic.size(), size);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return secret;
}

Result<std::string> MakeSecretFile(const std::string& path, std::string_view magic, size_t size,
                                   std::string_view what) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("directory " + dir.string() + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  CASEGRID_ASSIGN_OR_RETURN(std::string secret, RandomBytes(size));
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return SecretFileError(what, "create", tmp);
  std::string bytes = std::string(magic) + secret;
  const bool written =
      ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
      ::fsync(fd) == 0;
  OPENSSL_cleanse(bytes.data(), bytes.size());
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return SecretFileError(what, "write", tmp);
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return ReadSecretFile(path, magic, size, what);
    errno = link_errno;
    return SecretFileError(what, "link", path);
  }
  return secret;
}

std::string KeyCheck(std::string_view key) {
  return Sha256Concat({"casegrid key check\n", key}).substr(0, 8);
}

bool HasPersonalValues(const Message& message) {
  for (const auto& p : PathsIn(message)) {
    const Message* holder = Holder(message, p);
    if (holder != nullptr &&
        !holder->GetReflection()->GetStringReference(*holder, p.path.back(), nullptr).empty()) {
      return true;
    }
  }
  return false;
}

Status SealPersonal(Message* message, v1::Sealed* sealed, uint64_t slot, std::string_view key,
                    std::string_view case_id) {
  std::unique_ptr<Message> taken;
  std::vector<std::string> names;
  for (const auto& p : PathsIn(*message)) {
    const Message* holder = Holder(*message, p);
    const FieldDescriptor* leaf = p.path.back();
    if (holder == nullptr ||
        holder->GetReflection()->GetStringReference(*holder, leaf, nullptr).empty()) {
      continue;
    }
    if (taken == nullptr) taken.reset(message->New());
    Message* into = MutableHolder(taken.get(), p);
    Message* from = MutableHolder(message, p);
    into->GetReflection()->SetString(into, leaf, from->GetReflection()->GetString(*from, leaf));
    from->GetReflection()->ClearField(from, leaf);
    names.push_back(p.name);
  }
  if (taken == nullptr) return Status::Ok();
  std::string plain = taken->SerializeAsString();
  std::string nonce(kNonceBytes, '\0');
  if (!DrawRandom(nonce.data(), kNonceBytes)) return Status::IOError("no random bytes for a nonce");
  std::string cipher;
  const bool ok = Gcm(true, key, nonce, case_id, plain, &cipher);
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!ok) return Status::IOError("sealing personal data: the cipher failed");
  sealed->Clear();
  sealed->set_key(slot);
  sealed->set_nonce(std::move(nonce));
  sealed->set_ciphertext(std::move(cipher));
  sealed->set_key_check(KeyCheck(key));
  for (auto& n : names) sealed->add_fields(std::move(n));
  return Status::Ok();
}

std::string_view Placeholder(Opened outcome) {
  switch (outcome) {
    case Opened::kErased:
      return "[erased]";
    case Opened::kNoKeys:
      return "[sealed]";
    case Opened::kKeyMissing:
      return "[key missing]";
    case Opened::kDamaged:
      return "[damaged]";
    default:
      return "";
  }
}

Opened OpenPersonal(const v1::Sealed& sealed, const KeyStore* keys, std::string_view case_id,
                    Message* message) {
  if (sealed.fields().empty() && sealed.ciphertext().empty()) return Opened::kNothing;
  Opened outcome = Opened::kNoKeys;
  if (keys != nullptr) {
    std::string key;
    switch (keys->Key(sealed.key(), &key)) {
      case KeyStore::KeyState::kErased:
        outcome = Opened::kErased;
        break;
      case KeyStore::KeyState::kMissing:
        outcome = Opened::kKeyMissing;
        break;
      case KeyStore::KeyState::kLive: {
        outcome = Opened::kDamaged;
        if (!sealed.key_check().empty() && sealed.key_check() != KeyCheck(key)) {
          outcome = Opened::kKeyMissing;  // the slot holds another key
          OPENSSL_cleanse(key.data(), key.size());
          break;
        }
        std::string plain;
        if (sealed.nonce().size() == kNonceBytes && sealed.ciphertext().size() >= kTagBytes &&
            Gcm(false, key, sealed.nonce(), case_id, sealed.ciphertext(), &plain)) {
          std::unique_ptr<Message> taken(message->New());
          if (taken->ParseFromString(plain)) {
            message->MergeFrom(*taken);
            outcome = Opened::kOpened;
          }
          OPENSSL_cleanse(plain.data(), plain.size());
        }
        OPENSSL_cleanse(key.data(), key.size());
        break;
      }
    }
  }
  if (outcome == Opened::kOpened) return outcome;
  const std::string text(Placeholder(outcome));
  for (const auto& p : PathsIn(*message)) {
    for (const auto& name : sealed.fields()) {
      if (name != p.name) continue;
      Message* holder = MutableHolder(message, p);
      holder->GetReflection()->SetString(holder, p.path.back(), text);
    }
  }
  return outcome;
}

Status SealPersonalEvent(v1::Event* event, uint64_t slot, std::string_view key) {
  v1::Sealed sealed;
  CASEGRID_RETURN_IF_ERROR(SealPersonal(event, &sealed, slot, key, event->case_id()));
  if (!sealed.ciphertext().empty()) *event->mutable_personal() = std::move(sealed);
  return Status::Ok();
}

Opened OpenPersonalEvent(v1::Event* event, const KeyStore* keys) {
  if (!event->has_personal()) return Opened::kNothing;
  return OpenPersonal(event->personal(), keys, event->case_id(), event);
}

}  // namespace casegrid::events
