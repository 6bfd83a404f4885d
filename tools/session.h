// What every casegrid command opens: the log (the embedded journal in
// DIR/journal, or a Kafka topic with its state store in DIR/kafka-state), the
// read models in DIR/projections, the configuration (the shipped workflows/
// folder, or --config) and the engine over them.
#ifndef CASEGRID_TOOLS_SESSION_H_
#define CASEGRID_TOOLS_SESSION_H_

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/scratch_dir.h"
#include "engine/access.h"
#include "engine/engine.h"
#include "events/blobs.h"
#include "events/kafka_log.h"
#include "events/log.h"
#include "events/personal.h"
#include "projections/projection.h"
#include "server/command_sender.h"

namespace casegrid::tools {

struct GlobalOptions {
  std::string data_dir = "./casegrid-data";
  std::string config_dir;  // empty: $CASEGRID_CONFIG, else the source tree's workflows/
  bool sync = true;
  std::string log = "journal";      // journal | kafka
  std::string log_format = "text";  // of the log lines on stderr: text | json
  // --log kafka (docs/operations.md):
  std::string brokers;  // bootstrap HOST:PORT[,...]
  std::string topic_prefix = "casegrid";
  int partitions = 12;
  // librdkafka properties for every Kafka client, KEY=VALUE (--kafka-set):
  // security.protocol, sasl.*, ssl.*, tuning. docs/operations.md.
  std::vector<std::string> kafka_set;
  // The same from the settings file's `kafka.` keys (SettingsFile), applied
  // before --kafka-set's, so the command line wins key by key.
  std::vector<std::string> kafka_file;
  // The key that signs the journal's checkpoints (docs/audit.md); empty:
  // DIR/signing-key.pem. Created at the first write when missing.
  std::string signing_key;
  // The key-encryption key of the keys topic (--log kafka; events/
  // kafka_keys.h); empty: DATA/keys.kek. Every worker and data directory on
  // one topic prefix needs the same file.
  std::string kek;
  // The district's petitioner key (engine/petitioner.h); empty:
  // DATA/petitioner.key, made at the first write when missing. Every worker
  // and data directory of one district needs the same file.
  std::string petitioner_key;
  // A file holding the API token (`casegrid tokens issue`) that `send`,
  // `workflow migrate --send` and `calendar recount` on Kafka put on every
  // command (docs/security.md, "The commands topic"); empty: none.
  std::string token_file;
  // The person a read command reads for (`--by` of case show, inbox,
  // overdue, replay, export; docs/security.md, "Reads"): what their grants
  // reach, and the record of their reads of personal data. Empty: the user
  // of --token-file's token when one is given, else the data directory's
  // owner, who reads all.
  std::string reader;
  // The attachments' blob store (events/blobs.h, docs/attachments.md);
  // empty: DATA/blobs.
  std::string blobs;
};

// --blobs, else DATA/blobs.
std::string BlobDir(const GlobalOptions& options);

std::string SigningKeyPath(const GlobalOptions& options);

// GlobalOptions::kafka_file then kafka_set as (key, value) pairs, split at
// the first '=' (librdkafka takes the last value of a key).
events::KafkaSettings KafkaProperties(const GlobalOptions& options);

// The configuration folder (definitions/, calendars/, org/;
// docs/operations.md, "Installed"): --config, else $CASEGRID_CONFIG, else,
// for an installed binary (BIN/../share/casegrid exists beside it), the
// administrator's copy when there is one (/etc/casegrid for a binary in
// /usr/bin, PREFIX/etc/casegrid for one elsewhere) or the shipped one in
// PREFIX/share/casegrid; else the source tree's workflows/ (a build tree).
std::string ResolveConfigDir(const GlobalOptions& options);
// The web console's files: BIN/../share/casegrid/console for an installed
// binary, else the source tree's console/.
std::string ConsoleDir();

// The command sender's options: brokers, prefix, --kafka-set and the token
// of --token-file (its first line). NotFound / InvalidArgument naming the
// file when it cannot be read or holds no token.
Result<server::SenderOptions> SenderOptionsFor(const GlobalOptions& options);

// The token of --token-file (its first line); empty when none is given.
// NotFound / InvalidArgument naming the file when it cannot be read or holds
// no token.
Result<std::string> TokenOfFile(const GlobalOptions& options);
// The token in the first line of `path` (empty: none); NotFound /
// InvalidArgument naming `flag` and the file.
Result<std::string> ReadTokenFile(const std::string& path, const std::string& flag);

struct Session {
  std::unique_ptr<events::KeyStore> keys;  // first: the engine and models use it
  // The attachments' blobs (BlobDir): on the journal, or with --blobs, the
  // engine refuses an attach command whose blob is not there.
  std::unique_ptr<events::BlobStore> blobs;
  std::unique_ptr<events::Log> log;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<projections::ReadModels> models;
};

// Whether DIR holds a log of the configured kind (queries never create one).
Status CheckLogExists(const GlobalOptions& options);

// InvalidArgument unless the options name a Kafka log and its brokers (the
// workers, `send` and `workflow migrate --send` run on Kafka only).
Status CheckBrokers(const GlobalOptions& options);

// Opens the log for reading (verify, replay): the journal read-only; a Kafka
// log with its state store brought up to the topic. With check_pages the
// journal's file is walked page by page first (lmdb::Environment::CheckPages),
// so damage is an error before LMDB reads it (`verify`).
Result<std::unique_ptr<events::Log>> OpenLogForReading(const GlobalOptions& options,
                                                       bool check_pages = false);

// Opens the log for writing alone (`checkpoint`): the journal signs with
// the key of SigningKeyPath.
Result<std::unique_ptr<events::Log>> OpenLogForWriting(const GlobalOptions& options);

// The key store of personal data keys, created when `create`: on the
// journal the data directory's DATA/personal.keys (events/personal.h); on
// Kafka the keys topic with the KEK file KekPath (events/kafka_keys.h).
// Null when it does not exist and !create (a data directory written before
// keys, a reader without the KEK: views say "[sealed]").
Result<std::unique_ptr<events::KeyStore>> OpenKeyStore(const GlobalOptions& options, bool create);

// --kek, else DATA/keys.kek.
std::string KekPath(const GlobalOptions& options);

// The petitioner key of --petitioner-key, else DATA/petitioner.key: read,
// or made when there is none and `index_check` (the engine's index of
// petitioners, StateStore::PetitionerKeyCheck) is empty. Unavailable when
// the file is missing while the index was made with a key: OpenSession then
// refuses only intakes naming a petitioner (Engine::set_petitioner_unavailable).
Result<std::string> OpenPetitionerKey(const GlobalOptions& options, std::string_view index_check);
std::string PetitionerKeyPath(const GlobalOptions& options);

// The OS account this process runs as ("uid N" when it has no name).
std::string OsAccount();

// Opens journal, engine and read models; `env` must outlive the session.
// The engine records OsAccount() on every event it writes (docs/security.md).
// The read models are checked against the log (ReadModels::CheckLog) unless
// `check_models` is false (`projections rebuild`, which replaces them).
Result<Session> OpenSession(const GlobalOptions& options, Env* env, bool check_models = true);

// Who a read command reads for (GlobalOptions::reader), with what their
// grants reach in `engine`'s directory: the named user; else --token-file's
// user (the token authenticated now); else the data directory's owner
// (OsAccount()). InvalidArgument naming the user or the token otherwise.
Result<engine::ReadScope> ReaderScope(const GlobalOptions& options, const engine::Engine& engine);

// Whether a read of `log` for a person (replay, export) is scoped and
// recorded: a reader is named (GlobalOptions::reader, --token-file) or the
// directory's checks are on. Then it runs on a Session, whose engine holds
// the directory and writes the record; otherwise on the log as opened.
Result<bool> ReadIsScoped(const GlobalOptions& options, events::Log& log);

// Brings the read models up to the journal, with a progress bar on a terminal.
Status CatchUpModels(Session& session, bool quiet = false);

// A one-line progress bar on stderr, drawn only when stderr is a terminal.
class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total);
  void Update(uint64_t done);
  void Finish();
  void set_total(uint64_t total) { total_ = total; }

 private:
  std::string label_;
  uint64_t total_;
  bool tty_;
  int last_permille_ = -1;
};

// A file a command writes (its -o): written to a temporary file beside it and
// renamed into place once complete, so a failed write leaves no half file
// and a reader polling for it never sees one. A symbolic link is followed
// (the file it names is replaced, the link kept); a target that is not a
// regular file (a device such as /dev/null, a FIFO) is written in place, not
// replaced; a directory is refused.
class OutputFile {
 public:
  // IOError naming `path` when it cannot be written.
  static Result<std::unique_ptr<OutputFile>> Open(const std::string& path);
  // Removes the temporary file unless Commit succeeded.
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::ostream& stream() { return out_; }
  // Flushes and puts the file in place. IOError naming it when a write
  // failed (a full disk, /dev/full) or the rename did.
  Status Commit();

 private:
  OutputFile(std::string path, std::string target, bool in_place)
      : path_(std::move(path)),
        target_(std::move(target)),
        written_(in_place ? target_ : target_ + ".tmp." + std::to_string(::getpid())),
        in_place_(in_place) {}
  std::string path_;     // as given
  std::string target_;   // the file it names (a link followed)
  std::string written_;  // the temporary file, or the target itself when in place
  bool in_place_;
  bool committed_ = false;
  std::ofstream out_;
};

// Writes `text` to `path` as an OutputFile.
Status WriteFileAtomically(const std::string& path, const std::string& text);
// A whole file of at most `limit` bytes; NotFound naming it when it cannot
// be opened, InvalidArgument when it is longer.
Result<std::string> ReadSmallFile(const std::string& path, size_t limit);

int Fail(const Status& status);  // prints "casegrid: <status>" to stderr; returns 2

}  // namespace casegrid::tools

#endif  // CASEGRID_TOOLS_SESSION_H_
