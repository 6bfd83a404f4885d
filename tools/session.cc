#include "tools/session.h"

#include <pwd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/log_format.h"
#include "base/text.h"
#include "events/kafka_keys.h"
#include "events/kafka_log.h"

namespace casegrid::tools {

namespace {

// BIN/../share/casegrid when this binary is an installed one; "" in a build tree.
std::filesystem::path InstalledShare() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path bin = fs::read_symlink("/proc/self/exe", ec).parent_path();
  if (ec || !fs::is_directory(bin.parent_path() / "share/casegrid/definitions", ec)) return {};
  return bin.parent_path() / "share/casegrid";
}

}  // namespace

std::string ResolveConfigDir(const GlobalOptions& options) {
  if (!options.config_dir.empty()) return options.config_dir;
  if (const char* env = std::getenv("CASEGRID_CONFIG"); env != nullptr && *env != '\0') return env;
  namespace fs = std::filesystem;
  const fs::path share = InstalledShare();
  if (!share.empty()) {
    const fs::path prefix = share.parent_path().parent_path();
    const fs::path admin = prefix == "/usr" ? fs::path("/etc/casegrid") : prefix / "etc/casegrid";
    std::error_code ec;
    if (fs::is_directory(admin / "definitions", ec)) return admin.string();
    return share.string();
  }
  return std::string(CASEGRID_SOURCE_DIR) + "/workflows";
}

std::string ConsoleDir() {
  const std::filesystem::path share = InstalledShare();
  return share.empty() ? std::string(CASEGRID_SOURCE_DIR) + "/console"
                       : (share / "console").string();
}

namespace {

bool IsKafka(const GlobalOptions& options) { return options.log == "kafka"; }

Result<std::unique_ptr<events::Log>> OpenLog(const GlobalOptions& options, bool read_only,
                                             const Env* clock, bool check_pages = false) {
  if (IsKafka(options)) {
    events::KafkaOptions ko;
    ko.brokers = options.brokers;
    ko.topic_prefix = options.topic_prefix;
    ko.partitions = options.partitions;
    ko.state_dir = options.data_dir + "/kafka-state";
    ko.sync = options.sync;
    ko.properties = KafkaProperties(options);
    if (ko.brokers.empty()) {
      return Status::InvalidArgument(
          "--log kafka needs --brokers HOST:PORT (or CASEGRID_BROKERS); `casegrid kafka-dev` "
          "starts a development broker and prints its address");
    }
    return events::OpenKafkaLog(ko);
  }
  if (options.log != "journal") {
    return Status::InvalidArgument("--log " + options.log + ": expected journal or kafka");
  }
  events::JournalOptions jo;
  jo.sync = options.sync;
  jo.read_only = read_only;
  jo.check_pages = check_pages;
  jo.checkpoints.key_path = SigningKeyPath(options);
  jo.checkpoints.clock = clock;
  return events::OpenJournal(options.data_dir + "/journal", jo);
}

}  // namespace

Status CheckLogExists(const GlobalOptions& options) {
  const std::string file = IsKafka(options) ? options.data_dir + "/kafka-state/data.mdb"
                                            : options.data_dir + "/journal/data.mdb";
  if (std::filesystem::exists(file)) return Status::Ok();
  return Status::NotFound("no " + std::string(IsKafka(options) ? "Kafka state store" : "journal") +
                          " in " + options.data_dir +
                          " (check --data and --log, or submit commands first)");
}

events::KafkaSettings KafkaProperties(const GlobalOptions& options) {
  events::KafkaSettings out;
  for (const auto* given : {&options.kafka_file, &options.kafka_set}) {
    for (const std::string& kv : *given) {
      const size_t eq = kv.find('=');
      out.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
  }
  return out;
}

Status CheckBrokers(const GlobalOptions& options) {
  if (options.log != "kafka" || options.brokers.empty()) {
    return Status::InvalidArgument(
        "workers run on Kafka: give --log kafka --brokers HOST:PORT (or CASEGRID_LOG and "
        "CASEGRID_BROKERS); `casegrid kafka-dev` starts a development broker");
  }
  return Status::Ok();
}

Result<std::unique_ptr<events::Log>> OpenLogForWriting(const GlobalOptions& options) {
  return OpenLog(options, /*read_only=*/false, nullptr);
}

Result<std::unique_ptr<events::Log>> OpenLogForReading(const GlobalOptions& options,
                                                       bool check_pages) {
  if (!IsKafka(options)) CASEGRID_RETURN_IF_ERROR(CheckLogExists(options));
  return OpenLog(options, /*read_only=*/true, nullptr, check_pages);
}

std::string OsAccount() {
  const uid_t uid = geteuid();
  const passwd* pw = getpwuid(uid);
  return pw != nullptr && pw->pw_name != nullptr ? std::string(pw->pw_name)
                                                 : "uid " + std::to_string(uid);
}

std::string KekPath(const GlobalOptions& options) {
  return options.kek.empty() ? options.data_dir + "/keys.kek" : options.kek;
}

std::string PetitionerKeyPath(const GlobalOptions& options) {
  return options.petitioner_key.empty() ? options.data_dir + "/petitioner.key"
                                        : options.petitioner_key;
}

Result<std::string> OpenPetitionerKey(const GlobalOptions& options, std::string_view index_check) {
  constexpr std::string_view kMagic = "CGPKEY01";
  constexpr std::string_view kWhat = "petitioner key";
  const std::string path = PetitionerKeyPath(options);
  auto secret = events::ReadSecretFile(path, kMagic, engine::kPetitionerSecretBytes, kWhat);
  if (!secret.status().IsNotFound()) return secret;
  if (!index_check.empty()) {
    return Status::Unavailable(
        "petitioner key " + path +
        " is missing, while the log's petitioners were linked with one: restore it from the "
        "backup (or give --petitioner-key its path)");
  }
  secret = events::MakeSecretFile(path, kMagic, engine::kPetitionerSecretBytes, kWhat);
  if (secret.ok()) spdlog::info("made the petitioner key {}: keep it with the backups", path);
  return secret;
}

Result<std::unique_ptr<events::KeyStore>> OpenKeyStore(const GlobalOptions& options, bool create) {
  if (IsKafka(options)) {
    events::KafkaKeyOptions ko;
    ko.brokers = options.brokers;
    ko.topic_prefix = options.topic_prefix;
    ko.properties = KafkaProperties(options);
    ko.kek_path = KekPath(options);
    auto keys = events::OpenKafkaKeyStore(ko, create);
    if (keys.status().IsNotFound() && !create) return std::unique_ptr<events::KeyStore>();
    return keys;
  }
  auto keys = events::OpenKeyFile(options.data_dir + "/personal.keys", create);
  if (keys.status().IsNotFound() && !create) return std::unique_ptr<events::KeyStore>();
  return keys;
}

// The key store of personal data for a writer: made when missing, unless the
// engine's cases show data sealed under its keys already (a key store lost
// or left behind in a restore: one made anew would hand out the same slots
// with other keys, and what is sealed under them would be lost when the
// right one comes back).
Result<std::unique_ptr<events::KeyStore>> OpenWritableKeyStore(const GlobalOptions& options,
                                                               engine::StateStore& store) {
  // The keys topic refuses a lost key-encryption key itself (it makes one
  // only for an empty topic); a key file is made by whoever finds none.
  CASEGRID_ASSIGN_OR_RETURN(auto keys, OpenKeyStore(options, /*create=*/IsKafka(options)));
  if (keys != nullptr) {
    // A key store cut short, or older than the log, would hand out slots
    // that sealed data names already.
    CASEGRID_ASSIGN_OR_RETURN(const uint64_t highest, store.HighestKeySlot());
    std::string unused;
    if (highest > 0 && keys->Key(highest, &unused) == events::KeyStore::KeyState::kMissing) {
      return Status::Unavailable("the key store " + keys->name() + " has no key " +
                                 std::to_string(highest) +
                                 ", while the log has personal data sealed under it (a key "
                                 "store cut short, or older than the log): restore the one "
                                 "taken with the log (nothing is written until then)");
    }
    return keys;
  }
  std::string sealed_case;
  uint64_t slot = 0;
  CASEGRID_RETURN_IF_ERROR(store.ForEachCase([&](const casegrid::v1::CaseState& c) {
    if (sealed_case.empty() && c.personal_key() != 0) {
      sealed_case = c.case_id();
      slot = c.personal_key();
    }
  }));
  if (!sealed_case.empty()) {  // a key file: the keys topic never comes back missing
    return Status::Unavailable("the key store " + options.data_dir +
                               "/personal.keys is missing, while case " +
                               text::Escape(sealed_case) +
                               " has personal data sealed under its key " + std::to_string(slot) +
                               ": restore it from the backup (nothing is written until then; "
                               "casegrid verify names every case it holds a key of)");
  }
  return OpenKeyStore(options, /*create=*/true);
}

Result<Session> OpenSession(const GlobalOptions& options, Env* env, bool check_models) {
  Session s;
  CASEGRID_ASSIGN_OR_RETURN(s.log, OpenLog(options, /*read_only=*/false, env));
  CASEGRID_ASSIGN_OR_RETURN(auto config,
                            engine::LoadConfig(ResolveConfigDir(options), s.log.get()));
  CASEGRID_ASSIGN_OR_RETURN(s.engine, engine::Engine::Open(s.log.get(), std::move(config), env));
  CASEGRID_ASSIGN_OR_RETURN(s.keys, OpenWritableKeyStore(options, s.engine->state_store()));
  s.engine->set_os_account(OsAccount());
  s.engine->set_key_store(s.keys.get());
  CASEGRID_ASSIGN_OR_RETURN(const std::string check, s.engine->state_store().PetitionerKeyCheck());
  // Without its key a data directory still reads, and takes every command
  // but an intake naming a petitioner (Engine::set_petitioner_unavailable).
  auto secret = OpenPetitionerKey(options, check);
  const Status keyed =
      secret.ok() ? s.engine->set_petitioner_secret(*std::move(secret), PetitionerKeyPath(options))
                  : secret.status();
  if (!keyed.ok()) {
    s.engine->set_petitioner_unavailable(keyed);
    spdlog::warn("{}", keyed.message());
  }
  CASEGRID_ASSIGN_OR_RETURN(s.blobs, events::OpenBlobDirectory(BlobDir(options), /*create=*/true));
  // A worker on Kafka checks blobs only in a store the doors share with it.
  if (options.log != "kafka" || !options.blobs.empty()) s.engine->set_blob_store(s.blobs.get());
  projections::Options po;
  po.sync = options.sync;
  po.keys = s.keys.get();
  CASEGRID_ASSIGN_OR_RETURN(s.models,
                            projections::ReadModels::Open(options.data_dir + "/projections", po));
  // Read models of another history refuse here, before anything is written.
  if (check_models) CASEGRID_RETURN_IF_ERROR(s.models->CheckLog(*s.log));
  return s;
}

Status CatchUpModels(Session& session, bool quiet) {
  ProgressBar bar("projections", 0);
  auto r = session.models->CatchUp(*session.log, [&](uint64_t done, uint64_t total) {
    if (quiet) return;
    bar.set_total(total);
    bar.Update(done);
  });
  if (!quiet) bar.Finish();
  return r.status();
}

ProgressBar::ProgressBar(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

void ProgressBar::Update(uint64_t done) {
  if (!tty_ || total_ == 0) return;
  int permille = static_cast<int>(done * 1000 / total_);
  if (permille == last_permille_) return;
  last_permille_ = permille;
  const int width = 40;
  int filled = permille * width / 1000;
  std::fprintf(stderr, "\r%-12s [%s%s] %5.1f%% %llu/%llu", label_.c_str(),
               std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
               permille / 10.0, static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total_));
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (tty_ && last_permille_ >= 0) std::fprintf(stderr, "\n");
}

Result<std::string> ReadTokenFile(const std::string& path, const std::string& flag) {
  if (path.empty()) return std::string();
  CASEGRID_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, 4096));
  std::string token = text.substr(0, text.find_first_of("\r\n"));
  if (token.empty()) return Status::InvalidArgument(flag + " " + path + ": no token in it");
  return token;
}

Result<std::string> TokenOfFile(const GlobalOptions& options) {
  return ReadTokenFile(options.token_file, "--token-file");
}

Result<server::SenderOptions> SenderOptionsFor(const GlobalOptions& options) {
  server::SenderOptions o{options.brokers, options.topic_prefix, KafkaProperties(options), ""};
  CASEGRID_ASSIGN_OR_RETURN(o.token, TokenOfFile(options));
  return o;
}

Result<bool> ReadIsScoped(const GlobalOptions& options, events::Log& log) {
  if (!options.reader.empty() || !options.token_file.empty()) return true;
  CASEGRID_ASSIGN_OR_RETURN(engine::Directory directory, engine::LoadDirectory(log));
  return directory.enforced();
}

Result<engine::ReadScope> ReaderScope(const GlobalOptions& options, const engine::Engine& engine) {
  const engine::Config& config = engine.config();
  static const engine::Directory kEmpty;
  const engine::Directory& directory = config.directory ? *config.directory : kEmpty;
  std::string user = options.reader;
  if (!user.empty()) {
    CASEGRID_RETURN_IF_ERROR(text::CheckIdentifier("--by", user));
  } else {
    CASEGRID_ASSIGN_OR_RETURN(std::string token, TokenOfFile(options));
    if (token.empty()) return engine::ReadScope::Owner(OsAccount());
    auto who = directory.Authenticate(token, engine.env()->NowMicros());
    if (!who.ok()) return who.status().WithContext("--token-file " + options.token_file);
    user = (*who)->id;
  }
  return engine::ReadScope::Of(directory, config.org, user);
}

Result<std::unique_ptr<OutputFile>> OutputFile::Open(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // The file a link names (its directory gets the temporary file); a path
  // that does not exist yet is written as it is.
  fs::path target(path);
  if (fs::is_symlink(fs::symlink_status(path, ec))) {
    target = fs::weakly_canonical(path, ec);
    if (ec) return Status::IOError("cannot follow the link " + path + ": " + ec.message());
  }
  const fs::file_status st = fs::status(target, ec);
  if (fs::is_directory(st)) return Status::IOError("cannot write " + path + ": it is a directory");
  const bool in_place = fs::exists(st) && !fs::is_regular_file(st);
  std::unique_ptr<OutputFile> file(new OutputFile(path, target.string(), in_place));
  file->out_.open(file->written_, std::ios::binary | std::ios::trunc);
  if (!file->out_) {
    return Status::IOError("cannot write " + (in_place ? path : file->written_));
  }
  return file;
}

OutputFile::~OutputFile() {
  if (committed_ || in_place_) return;
  out_.close();
  std::error_code ignored;
  std::filesystem::remove(written_, ignored);
}

Status OutputFile::Commit() {
  out_.flush();
  out_.close();
  if (!out_)
    return Status::IOError("cannot write " + path_ + (in_place_ ? "" : " (" + written_ + ")"));
  if (in_place_) return Status::Ok();
  std::error_code ec;
  std::filesystem::rename(written_, target_, ec);
  if (ec) {
    return Status::IOError("cannot rename " + written_ + " to " + target_ + ": " + ec.message());
  }
  committed_ = true;
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  CASEGRID_ASSIGN_OR_RETURN(auto file, OutputFile::Open(path));
  file->stream() << text;
  return file->Commit();
}

Result<std::string> ReadSmallFile(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > limit) {
    return Status::InvalidArgument(path + ": longer than " + std::to_string(limit) + " bytes");
  }
  return text;
}

std::string BlobDir(const GlobalOptions& options) {
  return options.blobs.empty() ? options.data_dir + "/blobs" : options.blobs;
}

std::string SigningKeyPath(const GlobalOptions& options) {
  return options.signing_key.empty() ? options.data_dir + "/signing-key.pem" : options.signing_key;
}

int Fail(const Status& status) {
  if (logging::LogsAreJson()) {
    spdlog::error("{}", status.ToString());
    return 2;
  }
  std::fprintf(stderr, "casegrid: %s\n", status.ToString().c_str());
  return 2;
}

}  // namespace casegrid::tools
