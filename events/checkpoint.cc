#include "events/checkpoint.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/codec.h"
#include "base/text.h"
#include "events/log.h"

namespace casegrid::events {
namespace {

constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr size_t kMaxNoteBytes = 64 * 1024;
constexpr char kEd25519Type = 0x01;  // signed-note's algorithm byte for Ed25519

std::string KeyId(std::string_view name, std::string_view public_key) {
  std::string material(name);
  material.push_back('\n');
  material.push_back(kEd25519Type);
  material.append(public_key);
  return Sha256(material).substr(0, 4);
}

bool ValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == '+') return false;
  }
  return true;
}

std::string OpenSslError() {
  return "OpenSSL failed";  // the library's queue names nothing a user can act on
}

}  // namespace

std::string CheckpointBody(const Checkpoint& checkpoint) {
  return checkpoint.origin + "\n" + std::to_string(checkpoint.head.size) + "\n" +
         codec::Base64(checkpoint.head.root) + "\n";
}

// ---- NoteSigner ----

NoteSigner::NoteSigner(void* pkey, std::string name, std::string public_key)
    : pkey_(pkey), name_(std::move(name)), public_key_(std::move(public_key)) {}

NoteSigner::~NoteSigner() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

Result<std::unique_ptr<NoteSigner>> NoteSigner::Load(const std::string& path,
                                                     const std::string& name) {
  if (!ValidKeyName(name)) return Status::InvalidArgument("key name " + name + " is not valid");
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    if (errno == ENOENT) return Status::NotFound("no signing key at " + path);
    return Status::IOError("signing key " + path + ": " + std::strerror(errno));
  }
  EVP_PKEY* pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (pkey == nullptr || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return Status::InvalidArgument("signing key " + path +
                                   ": not a PEM Ed25519 private key (casegrid writes one with "
                                   "`casegrid checkpoint` when the file does not exist)");
  }
  std::string pub(32, '\0');
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(pub.data()), &len) != 1 ||
      len != 32) {
    EVP_PKEY_free(pkey);
    return Status::IOError("signing key " + path + ": " + OpenSslError());
  }
  return std::unique_ptr<NoteSigner>(new NoteSigner(pkey, name, std::move(pub)));
}

Result<std::unique_ptr<NoteSigner>> NoteSigner::LoadOrCreate(const std::string& path,
                                                             const std::string& name) {
  auto loaded = Load(path, name);
  if (!loaded.status().IsNotFound()) return loaded;
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError("signing key directory " + dir.string() + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return Status::IOError("creating a signing key: " + OpenSslError());
  // Written beside and renamed into place: a crash leaves no half key, and a
  // key that exists is never overwritten (link fails instead).
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    EVP_PKEY_free(pkey);
    return Status::IOError("signing key " + tmp + ": " + std::strerror(errno));
  }
  FILE* f = ::fdopen(fd, "wb");
  const bool written = f != nullptr &&
                       PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
                       std::fflush(f) == 0 && ::fsync(fd) == 0;
  if (f != nullptr) std::fclose(f);
  EVP_PKEY_free(pkey);
  if (!written) {
    ::unlink(tmp.c_str());
    return Status::IOError("signing key " + tmp + ": could not write it");
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked != 0 && link_errno != EEXIST) {
    return Status::IOError("signing key " + path + ": " + std::strerror(link_errno));
  }
  return Load(path, name);  // EEXIST: another process made one first; use it
}

std::string NoteSigner::Sign(const Checkpoint& checkpoint) const {
  const std::string body = CheckpointBody(checkpoint);
  std::string sig(64, '\0');
  size_t len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx != nullptr &&
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(pkey_)) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(body.data()), body.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != 64) std::abort();  // Ed25519 signing does not fail on a loaded key
  return body + "\n" + std::string(kSignaturePrefix) + name_ + " " +
         codec::Base64(KeyId(name_, public_key_) + sig) + "\n";
}

std::string NoteSigner::VerifierKey() const {
  return name_ + "+" + codec::Hex(KeyId(name_, public_key_)) + "+" +
         codec::Base64(std::string(1, kEd25519Type) + public_key_);
}

// ---- NoteVerifier ----

Result<NoteVerifier> NoteVerifier::Parse(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("verifier key: " + why +
                                   " (expected NAME+KEYID+KEY, as `casegrid checkpoint "
                                   "--public-key` prints)");
  };
  const size_t p1 = text.find('+');
  const size_t p2 = p1 == std::string_view::npos ? p1 : text.find('+', p1 + 1);
  if (p2 == std::string_view::npos) return bad("not three parts joined by '+'");
  NoteVerifier v;
  v.name_ = std::string(text.substr(0, p1));
  if (!ValidKeyName(v.name_)) return bad("the name is empty or has spaces or control bytes");
  std::string id, key;
  if (!codec::ParseHex(text.substr(p1 + 1, p2 - p1 - 1), &id) || id.size() != 4) {
    return bad("the key id is not 8 hex digits");
  }
  if (!codec::ParseBase64(text.substr(p2 + 1), &key) || key.size() != 33 ||
      key[0] != kEd25519Type) {
    return bad("the key is not base64 of an Ed25519 public key");
  }
  v.public_key_ = key.substr(1);
  if (KeyId(v.name_, v.public_key_) != id) return bad("the key id does not match the key");
  v.key_id_ = id;
  v.text_ = std::string(text);
  return v;
}

Result<Checkpoint> NoteVerifier::Open(std::string_view note) const {
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("not a checkpoint note: " + why);
  };
  if (note.size() > kMaxNoteBytes) return bad("longer than 64 KiB");
  const size_t split = note.find("\n\n");
  if (split == std::string_view::npos) return bad("no blank line before the signatures");
  const std::string_view body = note.substr(0, split + 1);
  std::string_view rest = note.substr(split + 2);
  // The body: origin, size, root, then optional extension lines.
  std::vector<std::string_view> lines;
  for (std::string_view b = body; !b.empty();) {
    const size_t nl = b.find('\n');
    lines.push_back(b.substr(0, nl));
    b.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return bad("fewer than three lines (origin, size, root hash)");
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return bad("the origin line is empty");
  const std::string_view size = lines[1];
  auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), c.head.size);
  if (ec != std::errc() || end != size.data() + size.size() || size.empty() ||
      (size.size() > 1 && size[0] == '0')) {
    return bad("the second line is not a tree size in decimal");
  }
  if (!codec::ParseBase64(lines[2], &c.head.root) || c.head.root.size() != 32) {
    return bad("the third line is not a base64 SHA-256 root hash");
  }
  // Signatures: any number of lines; one by this key must verify.
  bool seen_ours = false;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return bad("the last signature line has no line feed");
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) {
      return bad("a signature line does not start with \"\xE2\x80\x94 \"");
    }
    line.remove_prefix(kSignaturePrefix.size());
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return bad("a signature line has no name");
    if (line.substr(0, sp) != name_) continue;
    std::string sig;
    if (!codec::ParseBase64(line.substr(sp + 1), &sig) || sig.size() < 4) {
      return bad("a signature is not base64");
    }
    if (sig.substr(0, 4) != key_id_) continue;
    seen_ours = true;
    EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key_.data()),
        public_key_.size());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok =
        pkey != nullptr && ctx != nullptr && sig.size() == 68 &&
        EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data() + 4), 64,
                         reinterpret_cast<const unsigned char*>(body.data()), body.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    if (ok) return c;
  }
  if (!seen_ours) return Status::Corruption("the checkpoint carries no signature by key " + name_);
  return Status::Corruption("the checkpoint's signature by key " + name_ +
                            " does not verify: its text was changed or it was not signed by "
                            "this key");
}

// ---- CheckpointStore ----

Result<CheckpointStore> CheckpointStore::Open(lmdb::Environment& env) {
  CASEGRID_ASSIGN_OR_RETURN(MDB_dbi dbi, env.OpenDb("checkpoints"));
  return CheckpointStore(dbi);
}

Result<std::string> CheckpointStore::Origin(lmdb::Txn& txn) const {
  // Key: one 0x00 byte, before every size key (8 bytes) in the table's order.
  const std::string key(1, '\0');
  std::string_view value;
  Status s = txn.Get(dbi_, key, &value);
  if (s.ok()) return std::string(value);
  if (!s.IsNotFound()) return s;
  if (!txn.writable()) return Status::NotFound("the log has no origin yet (no checkpoint signed)");
  unsigned char id[8];
  if (RAND_bytes(id, sizeof id) != 1) return Status::IOError("no random bytes for the origin");
  std::string origin =
      "casegrid/" + codec::Hex(std::string_view(reinterpret_cast<char*>(id), sizeof id));
  CASEGRID_RETURN_IF_ERROR(txn.Put(dbi_, key, origin));
  return origin;
}

Status CheckpointStore::Put(lmdb::Txn& txn, int32_t partition, uint64_t size,
                            std::string_view note) const {
  return txn.Put(dbi_, codec::CheckpointKey(partition, size), note);
}

Result<std::optional<std::pair<uint64_t, std::string>>> CheckpointStore::Latest(
    lmdb::Txn& txn, int32_t partition) const {
  CASEGRID_ASSIGN_OR_RETURN(auto cur, lmdb::Cursor::Open(txn, dbi_));
  // The partition's last key is just before the next partition's first.
  const bool found = cur->Seek(codec::CheckpointKey(partition + 1, 0)) ? cur->Prev() : cur->Last();
  int32_t p = 0;
  uint64_t size = 0;
  if (!found || !codec::ParseCheckpointKey(cur->key(), &p, &size) || p != partition) {
    return std::optional<std::pair<uint64_t, std::string>>();
  }
  return std::optional<std::pair<uint64_t, std::string>>(
      std::make_pair(size, std::string(cur->value())));
}

std::string TreeOrigin(std::string_view log_origin, int32_t partition, int32_t partitions) {
  std::string origin(log_origin);
  if (partitions > 1) origin += "/partition/" + std::to_string(partition);
  return origin;
}

Result<int32_t> OriginPartition(std::string_view origin, int32_t partitions) {
  if (partitions == 1) return 0;
  constexpr std::string_view kInfix = "/partition/";
  const size_t at = origin.rfind(kInfix);
  const std::string_view digits =
      at == std::string_view::npos ? std::string_view() : origin.substr(at + kInfix.size());
  int32_t p = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || p < 0 ||
      p >= partitions || (digits.size() > 1 && digits[0] == '0')) {
    return Status::InvalidArgument("the checkpoint's origin " + text::Escape(origin) +
                                   " names no partition of the " + std::to_string(partitions) +
                                   " this log has (it ends in /partition/N)");
  }
  return p;
}

Result<std::vector<std::string_view>> SplitNotes(std::string_view text, size_t max_notes) {
  std::vector<std::string_view> notes;
  size_t start = std::string_view::npos;  // where the open note starts
  bool in_signatures = false;             // past the open note's blank line
  for (size_t at = 0; at < text.size();) {
    const size_t nl = text.find('\n', at);
    const size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    const std::string_view line = text.substr(at, end - at);
    if (in_signatures && line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) {
      notes.push_back(text.substr(start, at - start));
      if (notes.size() > max_notes) break;
      start = std::string_view::npos;
      in_signatures = false;
    }
    if (start == std::string_view::npos) {
      if (line != "\n") start = at;  // blank lines between notes are skipped
    } else if (!in_signatures && line == "\n") {
      in_signatures = true;
    }
    at = end;
  }
  if (start != std::string_view::npos && notes.size() <= max_notes) {
    notes.push_back(text.substr(start));
  }
  if (notes.empty()) return Status::InvalidArgument("no checkpoint note in it");
  if (notes.size() > max_notes) {
    return Status::InvalidArgument("more than " + std::to_string(max_notes) +
                                   " checkpoint notes in it");
  }
  return notes;
}

Result<std::string> WriteCheckpoint(lmdb::Txn& txn, const merkle::TreeStore& tree,
                                    const CheckpointStore& checkpoints, const NoteSigner& signer,
                                    int32_t partition, int32_t partitions, uint64_t size) {
  Checkpoint c;
  CASEGRID_ASSIGN_OR_RETURN(const std::string origin, checkpoints.Origin(txn));
  c.origin = TreeOrigin(origin, partition, partitions);
  c.head.size = size;
  CASEGRID_ASSIGN_OR_RETURN(c.head.root, tree.Root(txn, partition, size));
  std::string note = signer.Sign(c);
  CASEGRID_RETURN_IF_ERROR(checkpoints.Put(txn, partition, size, note));
  return note;
}

}  // namespace casegrid::events
