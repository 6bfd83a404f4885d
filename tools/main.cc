// casegrid: the command-line tool. `casegrid --help` lists the commands;
// README.md and docs/ describe each. main() builds the CLI11 tree and
// dispatches: each command's adapter is in the tools/ file named after it.
#include <google/protobuf/stubs/common.h>
#include <librdkafka/rdkafka.h>
#include <lmdb.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <istream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/allocator.h"
#include "base/crash_point.h"
#include "base/log_format.h"
#include "tools/calendar_cmd.h"
#include "tools/commands.h"

namespace {

// The settings file (--settings): TOML or INI as CLI11 reads it, where the
// `kafka.` keys (`kafka.security.protocol = "SASL_SSL"`, or
// `security.protocol = ...` under `[kafka]`) are librdkafka properties, as
// --kafka-set gives them: they become the hidden option --kafka-file-set
// (GlobalOptions::kafka_file), one KEY=VALUE each.
class SettingsFile : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    // Read whole, up to a bound: a settings file is a few lines, and a
    // device or a huge file (/dev/zero) must not be read for ever.
    constexpr size_t kMaxBytes = size_t{1} << 20;
    std::string text;
    char buf[1 << 14];
    while (input.read(buf, sizeof buf) || input.gcount() > 0) {
      text.append(buf, static_cast<size_t>(input.gcount()));
      if (text.size() > kMaxBytes) {
        throw CLI::ConfigError(
            "--settings: the file is over 1 MiB; a settings file is a few "
            "lines of TOML or INI");
      }
    }
    std::istringstream bounded(text);
    std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(bounded);
    std::vector<CLI::ConfigItem> out;
    CLI::ConfigItem kafka;
    kafka.name = "kafka-file-set";
    for (CLI::ConfigItem& item : items) {
      if (item.parents.empty() || item.parents.front() != "kafka") {
        out.push_back(std::move(item));
        continue;
      }
      if (item.name == "++" || item.name == "--") continue;  // the [kafka] table's bounds
      // The key as written: CLI11 split it at its dots (a quoted key too).
      std::string key;
      for (size_t i = 1; i < item.parents.size(); ++i) key += item.parents[i] + ".";
      key += item.name;
      if (key.size() >= 2 && key.front() == '"' && key.back() == '"') {
        key = key.substr(1, key.size() - 2);
      }
      std::string value;
      for (const std::string& v : item.inputs) value += (value.empty() ? "" : ",") + v;
      kafka.inputs.push_back(key + "=" + value);
    }
    if (!kafka.inputs.empty()) out.push_back(std::move(kafka));
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace casegrid;
  using namespace casegrid::tools;
  // Logs go to stderr, so stdout carries only results (JSON included);
  // SPDLOG_LEVEL=debug shows librdkafka's and the engine's details.
  spdlog::set_default_logger(spdlog::stderr_color_mt("casegrid"));
  spdlog::cfg::load_env_levels();
  // CASEGRID_CRASH_AT (docs/operations.md): a malformed value stops here.
  crash_point::ReadEnvironment();
  CLI::App app{"casegrid: an event-sourced workflow engine for citizen case handling"};
  app.require_subcommand(1);
  // What a bug report needs: the version, and the libraries it runs on.
  app.set_version_flag(
      "--version", std::string("casegrid ") + CASEGRID_VERSION + "\nlibrdkafka " +
                       rd_kafka_version_str() + ", LMDB " + std::to_string(MDB_VERSION_MAJOR) +
                       "." + std::to_string(MDB_VERSION_MINOR) + "." +
                       std::to_string(MDB_VERSION_PATCH) + ", protobuf " +
                       google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION) + ", " +
                       AllocatorName());
  // Options a subcommand does not know fall through to this level, so
  // `casegrid demo --data D` works like `casegrid --data D demo`, and
  // `casegrid act ... --data D` too: each flag has one meaning everywhere
  // (the action's JSON is `act --payload`).
  app.fallthrough();
  GlobalOptions g;
  app.add_option("--data", g.data_dir, "data directory (journal and read models)")
      ->capture_default_str();
  app.add_option("--config", g.config_dir,
                 "configuration directory (default: $CASEGRID_CONFIG or the shipped workflows/)");
  // The log backend (docs/operations.md); each also from the environment.
  app.add_option("--log", g.log, "journal (embedded, default) or kafka")
      ->envname("CASEGRID_LOG")
      ->check(CLI::IsMember({"journal", "kafka"}))
      ->capture_default_str();
  app.add_option("--log-format", g.log_format,
                 "the log lines on stderr: text, or json (one object a line, for a log shipper)")
      ->envname("CASEGRID_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  // Before any command runs, so its every line has the format.
  app.parse_complete_callback([&] { (void)logging::SetLogFormat(g.log_format); });
  app.add_option("--brokers", g.brokers, "Kafka bootstrap HOST:PORT[,...] (--log kafka)")
      ->envname("CASEGRID_BROKERS");
  app.add_option("--topic-prefix", g.topic_prefix, "Kafka topics are PREFIX.events, ...")
      ->envname("CASEGRID_TOPIC_PREFIX")
      ->capture_default_str();
  app.add_option("--kafka-set", g.kafka_set,
                 "a librdkafka property KEY=VALUE for every Kafka client (repeatable)")
      ->check([](const std::string& kv) -> std::string {
        const size_t eq = kv.find('=');
        return eq == std::string::npos || eq == 0 ? "expected KEY=VALUE, got " + kv : "";
      });
  app.add_option("--kafka-file-set", g.kafka_file)
      ->group("")  // the settings file's kafka. keys (SettingsFile)
      ->check([](const std::string& kv) -> std::string {
        const size_t eq = kv.find('=');
        return eq == std::string::npos || eq == 0 ? "a kafka. key without a name: " + kv : "";
      });
  app.add_option("--signing-key", g.signing_key,
                 "the checkpoint signing key FILE (default: DATA/signing-key.pem)")
      ->envname("CASEGRID_SIGNING_KEY");
  app.add_option(
         "--kek", g.kek,
         "the key-encryption key FILE of the keys topic (--log kafka; default: DATA/keys.kek)")
      ->envname("CASEGRID_KEK");
  app.add_option("--petitioner-key", g.petitioner_key,
                 "the district's petitioner key FILE, which links a person's cases "
                 "(default: DATA/petitioner.key)")
      ->envname("CASEGRID_PETITIONER_KEY");
  app.add_option("--token-file", g.token_file,
                 "a file holding the API token sent with each command on the commands topic")
      ->envname("CASEGRID_TOKEN_FILE");
  app.add_option("--blobs", g.blobs, "the attachments' blob store DIR (default: DATA/blobs)")
      ->envname("CASEGRID_BLOBS");
  app.add_option("--partitions", g.partitions, "partitions of a topic casegrid creates")
      ->envname("CASEGRID_PARTITIONS")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  // The same options from a file: `log = "kafka"` lines (TOML or INI), and
  // librdkafka properties as `kafka.` keys (SettingsFile).
  // (CLI11 reads the file before the environment, so CASEGRID_SETTINGS is
  // the default file name rather than an envname.) An unknown key is an error.
  const char* settings_env = std::getenv("CASEGRID_SETTINGS");
  app.config_formatter(std::make_shared<SettingsFile>());
  app.set_config("--settings", settings_env != nullptr ? settings_env : "",
                 "read these options from a TOML/INI file (default: $CASEGRID_SETTINGS)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  int rc = 0;

  SubmitOptions submit;
  auto* c_submit = app.add_subcommand("submit", "apply an NDJSON file of commands (- for stdin)");
  c_submit->add_option("--file,-f", submit.file, "NDJSON file, or - for stdin")->required();
  c_submit->add_option("--batch", submit.batch, "commands per group commit")
      ->check(CLI::Range(size_t{1}, size_t{100000}))
      ->capture_default_str();
  c_submit->add_flag("--quiet,-q", submit.quiet, "no progress bar");
  c_submit->callback([&] { rc = RunSubmit(g, submit); });

  ActOptions act;
  auto* c_act =
      app.add_subcommand("act", "apply one command: casegrid act CASE ACTION --by USER:ROLE:UNIT");
  c_act->add_option("case", act.case_id, "case id")->required();
  c_act->add_option("action", act.action, "workflow action")->required();
  c_act->add_option("--by", act.by, "USER:ROLE:UNIT")->required();
  c_act->add_option("--payload", act.payload_json, "the action's data as a JSON object");
  c_act->add_option("--at", act.at, "when it happened (RFC 3339); default now");
  c_act->add_option("--id", act.id, "idempotency key");
  c_act->add_option("--workflow", act.workflow,
                    "the workflow an opening action starts the case on (default petition-125)");
  c_act->add_option("--expect", act.expect, "the case version you saw");
  c_act->callback([&] { rc = RunAct(g, act); });

  AttachOptions attach;
  auto* c_attach = app.add_subcommand(
      "attach", "add a photo, document or reference to a case: casegrid attach CASE FILE --by ..");
  c_attach->add_option("case", attach.case_id, "case id")->required();
  c_attach->add_option("file", attach.file, "the content (- for standard input)")->required();
  c_attach->add_option("--by", attach.by, "USER:ROLE:UNIT")->required();
  c_attach->add_option("--type", attach.media_type,
                       "image/jpeg, image/png, image/webp, application/pdf, audio/mpeg, "
                       "audio/wav or text/plain (default: from its first bytes)");
  c_attach->add_option("--name", attach.name, "the name shown (default: the file's)");
  c_attach->add_option("--note", attach.note, "what it shows");
  c_attach->add_flag("--personal", attach.personal,
                     "sealed under its own key: erasing the case makes it unreadable");
  c_attach->add_option("--action", attach.action, "the definition's attach action")
      ->capture_default_str();
  c_attach->add_option("--id", attach.id, "idempotency key");
  c_attach->add_option("--at", attach.at, "when it happened (RFC 3339); default now");
  c_attach->add_option("--max-bytes", attach.max_bytes, "the most bytes it may have")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->capture_default_str();
  c_attach->callback([&] { rc = RunAttach(g, attach); });

  const char* reader_help = "read for this user: what their grants reach, the read recorded";
  std::string attachment_case, attachment_sha, attachment_out;
  auto* c_attachment = app.add_subcommand(
      "attachment", "a case's attachments, or one's content: casegrid attachment CASE [SHA256]");
  c_attachment->add_option("case", attachment_case, "case id")->required();
  c_attachment->add_option("sha256", attachment_sha, "the attachment's blob (default: list them)");
  c_attachment->add_option("-o,--output", attachment_out, "FILE (default: standard output)");
  c_attachment->add_option("--by", g.reader, reader_help);
  c_attachment->callback(
      [&] { rc = RunAttachment(g, attachment_case, attachment_sha, attachment_out); });
  ExportOptions export_options;
  auto* c_export = app.add_subcommand(
      "export", "case histories for a report: one CASE, or the cases taken in --from --to");
  c_export->add_option("case", export_options.case_id, "case id");
  c_export->add_option("--from", export_options.from, "first local day YYYY-MM-DD");
  c_export->add_option("--to", export_options.to, "last local day YYYY-MM-DD");
  c_export->add_option("--format", export_options.format, "ndjson (default) or csv");
  c_export->add_option("-o,--output", export_options.output, "FILE (default: standard output)");
  c_export->add_option("--by", g.reader, reader_help);
  c_export->callback([&] { rc = RunExport(g, export_options); });

  EraseOptions erase;
  auto* c_erase = app.add_subcommand(
      "erase", "make a case's personal data unreadable everywhere (its data key destroyed)");
  c_erase->add_option("case", erase.case_id, "case id (or --due)");
  c_erase->add_option("--by", erase.by, "the admin who erases it")->required();
  c_erase->add_option("--reason", erase.reason, "why (a request); --due gives the rule's");
  c_erase->add_option("--at", erase.at, "when (RFC 3339); default now");
  c_erase->add_flag("--due", erase.due,
                    "every ended case past its workflow's retention_years (run it daily)");
  c_erase->add_flag("--dry-run", erase.dry_run, "with --due: list them, write nothing");
  c_erase->callback([&] { rc = RunErase(g, erase); });

  std::string tick_now;
  auto* c_tick = app.add_subcommand("tick", "turn every deadline due by --now into events");
  c_tick->add_option("--now", tick_now, "RFC 3339 time; default the wall clock");
  c_tick->callback([&] { rc = RunTick(g, tick_now); });

  std::string schema_path;
  bool schema_text = false;
  auto* c_schema =
      app.add_subcommand("schema", "write the event schema as a protobuf FileDescriptorSet");
  c_schema->add_option("--descriptor-set", schema_path, "output file")->required();
  c_schema->add_flag("--text", schema_text, "protobuf text format (the baseline)")->group("");
  c_schema->callback([&] { rc = RunSchema(schema_path, schema_text); });

  KafkaDevOptions kafka_dev;
  auto* c_kafka_dev = app.add_subcommand(
      "kafka-dev", "a Kafka mock cluster in memory, for development and tests only");
  c_kafka_dev->add_option("--brokers", kafka_dev.brokers, "mock brokers")->capture_default_str();
  c_kafka_dev->add_option("--partitions", kafka_dev.partitions, "partitions per topic")
      ->capture_default_str();
  c_kafka_dev->add_option("--bootstrap-file", kafka_dev.bootstrap_file,
                          "also write the bootstrap address to this file (removed on exit)");
  c_kafka_dev->add_option("--topic-prefix", kafka_dev.topic_prefix, "PREFIX.events, .commands")
      ->capture_default_str();
  c_kafka_dev->callback([&] {
    // Unless given here, the topics the other commands use (the global
    // --topic-prefix and --partitions, or their environment variables).
    if (c_kafka_dev->count("--topic-prefix") == 0) kafka_dev.topic_prefix = g.topic_prefix;
    if (c_kafka_dev->count("--partitions") == 0) kafka_dev.partitions = g.partitions;
    rc = RunKafkaDev(kafka_dev);
  });

  server::WorkerOptions worker;
  auto* c_worker = app.add_subcommand(
      "worker", "an engine worker in the consumer group on PREFIX.commands (--log kafka)");
  c_worker->add_option("--name", worker.name, "this worker's name (default HOST-PID)");
  c_worker->add_option("--group", worker.group, "consumer group (default PREFIX.workers)");
  c_worker->add_option("--batch", worker.batch, "commands per transaction at most")
      ->check(CLI::Range(size_t{1}, size_t{100000}))
      ->capture_default_str();
  c_worker->add_option("--tick-ms", worker.tick_ms, "how often deadlines fire")
      ->check(CLI::Range(1, 24 * 3600 * 1000))
      ->capture_default_str();
  c_worker
      ->add_option("--session-timeout-ms", worker.session_timeout_ms,
                   "a worker silent this long loses its partitions")
      ->capture_default_str();
  c_worker->callback([&] { rc = RunWorker(g, worker); });

  ServeOptions serve;
  auto* c_serve = app.add_subcommand(
      "serve", "the HTTP API on the data directory's engine (docs/http.md), until SIGTERM");
  c_serve->add_option("--listen", serve.listen, "HOST:PORT to listen on (port 0: any free one)")
      ->capture_default_str();
  c_serve->add_option("--max-body", serve.max_body, "bytes of a request body at most")
      ->check(CLI::Range(size_t{1024}, size_t{64} << 20))
      ->capture_default_str();
  c_serve
      ->add_option("--attachment-max-bytes", serve.attachment_max_bytes,
                   "bytes of an attachment at most (POST /v1/cases/{id}/attachments)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->capture_default_str();
  c_serve->add_option("--console", serve.console,
                      "the web console's folder (default: the shipped console/; none: no console)");
  c_serve->add_option("--tls-cert", serve.tls_cert, "HTTPS: the PEM certificate (chain) FILE");
  c_serve->add_option("--tls-key", serve.tls_key, "HTTPS: its PEM private key FILE");
  c_serve
      ->add_option("--rate-limit", serve.rate_limit,
                   "requests a second per API token (or address without one), twice that at "
                   "once; 0: no limit")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  c_serve
      ->add_option("--public-rate", serve.public_rate,
                   "citizens' demands (POST /v1/public/cases) a minute per address, as many at "
                   "once; 0: no limit (behind a proxy, every citizen has the proxy's address)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  c_serve
      ->add_option("--tick-ms", serve.tick_ms,
                   "on the journal: how often the deadlines due become events (0: only when "
                   "commands come and by casegrid tick); on Kafka the workers fire them")
      ->check(CLI::Range(0, 24 * 3600 * 1000))
      ->capture_default_str();
  c_serve->add_option("--public-token-file", serve.public_token_file,
                      "a FILE with the API token of the public door's user: the citizens' "
                      "commands are taken in as that user (on Kafka with the checks on, needed)");
  c_serve
      ->add_option("--answer-timeout", serve.answer_timeout,
                   "on Kafka: seconds a request waits for the workers' answers (then 503; the "
                   "commands stay on the topic)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  c_serve->add_option("--webhook-url", serve.webhook_url,
                      "POST every case event, signed, to this URL (the 12345 platform's link; "
                      "docs/http.md, \"Webhooks\")");
  c_serve->add_option("--webhook-secret-file", serve.webhook_secret_file,
                      "the file holding the HMAC secret shared with the webhook's receiver");
  c_serve->add_flag("--webhook-from-start", serve.webhook_from_start,
                    "with no delivery position yet, send the log's events from its first (default: "
                    "from now on)");
  c_serve->callback([&] { rc = RunServe(g, serve); });

  SendOptions send;
  auto* c_send = app.add_subcommand(
      "send", "produce an NDJSON file of commands to PREFIX.commands for the workers");
  c_send->add_option("--file,-f", send.file, "NDJSON file, or - for stdin")->required();
  c_send->callback([&] { rc = RunSend(g, send); });

  auto* c_migrate = app.add_subcommand(
      "migrate-log",
      "copy DIR/journal to the Kafka topic of --brokers, byte for byte, and verify it");
  c_migrate->callback([&] { rc = RunMigrateLog(g); });

  std::string verify_checkpoint, verify_key;
  auto* c_verify = app.add_subcommand(
      "verify", "recompute every hash, chain link and Merkle node of the log; check the state");
  c_verify->add_option("--checkpoint", verify_checkpoint,
                       "a saved checkpoint FILE the log must extend (docs/audit.md)");
  c_verify->add_option("--key", verify_key,
                       "the checkpoint's verifier key, or a FILE holding it (default: the data "
                       "directory's own signing key)");
  bool verify_read_models = false;
  c_verify->add_flag("--read-models", verify_read_models,
                     "also check that the read models equal a rebuild from the log");
  c_verify->callback([&] { rc = RunVerify(g, verify_checkpoint, verify_key, verify_read_models); });

  std::string checkpoint_out;
  bool checkpoint_public_key = false;
  auto* c_checkpoint = app.add_subcommand(
      "checkpoint", "sign the log's Merkle roots now and print the checkpoint notes");
  c_checkpoint->add_option("-o,--out", checkpoint_out, "write it to FILE instead");
  c_checkpoint->add_flag("--public-key", checkpoint_public_key,
                         "print the verifier key of the signing key instead");
  c_checkpoint->callback([&] { rc = RunCheckpoint(g, checkpoint_out, checkpoint_public_key); });

  ProveOptions prove;
  auto* c_prove = app.add_subcommand(
      "prove", "a case's events with inclusion proofs against a checkpoint, as JSON");
  c_prove->add_option("case", prove.case_id, "case id")->required();
  c_prove->add_option("--checkpoint", prove.checkpoint, "a saved checkpoint FILE")->required();
  c_prove->add_option("--key", prove.key, "its verifier key, or a FILE holding it");
  c_prove->add_option("-o,--out", prove.out, "write the proof to FILE");
  c_prove->callback([&] { rc = RunProve(g, prove); });

  std::string replay_case;
  auto* c_replay =
      app.add_subcommand("replay", "print a case's events in order, checking each hash");
  c_replay->add_option("case", replay_case, "case id")->required();
  c_replay->add_option("--by", g.reader, reader_help);
  bool replay_json = false;
  c_replay->add_flag("--json", replay_json,
                     "one JSON document: each event's times, content, hashes");
  c_replay->callback([&] { rc = RunReplay(g, replay_case, replay_json); });

  auto* c_case = app.add_subcommand("case", "case read model");
  c_case->require_subcommand(1);
  std::string show_id;
  bool show_json = false;
  auto* c_show = c_case->add_subcommand("show", "a case's state, unit and deadlines");
  c_show->add_option("id", show_id, "case id")->required();
  c_show->add_flag("--json", show_json);
  std::string as_of;  // case show, inbox, overdue, stats
  const char* as_of_help =
      "as the system knew it at this recorded time (RFC 3339), or N: the journal's first N events";
  c_show->add_option("--as-of", as_of, as_of_help);
  c_show->add_option("--by", g.reader, reader_help);
  c_show->callback([&] { rc = RunCaseShow(g, show_id, show_json, as_of); });
  std::string linked_id;
  bool linked_json = false;
  auto* c_linked = c_case->add_subcommand(
      "linked", "the other cases of the case's petitioner (by identity number or phone)");
  c_linked->add_option("id", linked_id, "case id")->required();
  c_linked->add_flag("--json", linked_json);
  c_linked->add_option("--by", g.reader, reader_help);
  c_linked->callback([&] { rc = RunCaseLinked(g, linked_id, linked_json); });

  std::string inbox_unit;
  bool inbox_json = false, inbox_subtree = false;
  auto* c_inbox = app.add_subcommand("inbox", "a unit's open cases by next due time");
  c_inbox->add_option("unit", inbox_unit, "unit code")->required();
  c_inbox->add_flag("--subtree", inbox_subtree,
                    "also the units under it (a town centre with its village stations)");
  c_inbox->add_flag("--json", inbox_json);
  c_inbox->add_option("--as-of", as_of, as_of_help);
  c_inbox->add_option("--by", g.reader, reader_help);
  c_inbox->callback([&] { rc = RunInbox(g, inbox_unit, inbox_json, as_of, inbox_subtree); });

  std::string overdue_at, overdue_group;
  bool overdue_json = false, overdue_warned = false;
  auto* c_overdue = app.add_subcommand("overdue", "cases with a deadline past due");
  c_overdue->add_option("--at", overdue_at, "RFC 3339 time; default now");
  c_overdue->add_flag("--warned", overdue_warned,
                      "also deadlines past their warning time but not yet due");
  c_overdue->add_option("--group", overdue_group,
                        "town: in sections per town of the unit each deadline binds");
  c_overdue->add_flag("--json", overdue_json);
  c_overdue->add_option("--as-of", as_of, std::string(as_of_help) + "; --at defaults to it");
  c_overdue->add_option("--by", g.reader, reader_help);
  c_overdue->callback(
      [&] { rc = RunOverdue(g, overdue_at, overdue_warned, overdue_json, as_of, overdue_group); });

  StatsArgs stats_args;
  const auto stats_options = [&](CLI::App* c, const char* by_help) {
    c->add_option("--from", stats_args.from, "first local day YYYY-MM-DD (default: all)");
    c->add_option("--to", stats_args.to, "last local day YYYY-MM-DD (default: all)");
    c->add_flag("--json", stats_args.json);
    c->add_option("--as-of", stats_args.as_of, as_of_help);
    c->add_option("--by", stats_args.by, by_help);
  };
  auto* c_stats =
      app.add_subcommand("stats", "statistics by day, channel, category, unit and level");
  stats_options(c_stats,
                "occurred (default) or recorded: the day an event counts on; unit, town or "
                "department: rolled up along the organisation; both comma-separated");
  c_stats->callback([&] { rc = RunStats(g, stats_args); });
  auto* c_scorecard = app.add_subcommand(
      "scorecard", "the units ranked for assessment: breaches charged to the unit bound");
  stats_options(c_scorecard,
                "town (default), unit or department; occurred (default) or recorded; "
                "comma-separated");
  c_scorecard->callback([&] { rc = RunScorecard(g, stats_args); });
  uint64_t patrol_at_least = 1;
  auto* c_patrol = app.add_subcommand(
      "patrol", "the public inspectors' patrol reports: each inspector's days and short days");
  c_patrol->add_option("--from", stats_args.from,
                       "first local day YYYY-MM-DD (default: the first with a report)");
  c_patrol->add_option("--to", stats_args.to,
                       "last local day YYYY-MM-DD (default: the last with a report)");
  c_patrol->add_option("--at-least", patrol_at_least,
                       "reports a working day needs not to be short (default 1; 10 in a "
                       "campaign)");
  c_patrol->add_flag("--json", stats_args.json);
  c_patrol->add_option("--as-of", stats_args.as_of, as_of_help);
  c_patrol->callback([&] { rc = RunPatrol(g, stats_args, patrol_at_least); });

  std::string audit_actor;
  bool audit_json = false;
  auto* c_audit = app.add_subcommand("audit", "every event by one actor");
  c_audit->add_option("--actor", audit_actor, "actor user")->required();
  c_audit->add_flag("--json", audit_json);
  c_audit->add_option("--by", g.reader, reader_help);
  c_audit->callback([&] { rc = RunAudit(g, audit_actor, audit_json); });

  auto* c_proj = app.add_subcommand("projections", "read model maintenance");
  c_proj->require_subcommand(1);
  auto* c_rebuild =
      c_proj->add_subcommand("rebuild", "drop the read models and rebuild them from the journal");
  c_rebuild->callback([&] { rc = RunProjectionsRebuild(g); });

  auto* c_org = app.add_subcommand("org", "the organisation: units, grid cells, responsibilities");
  c_org->require_subcommand(1);
  bool org_json = false;
  auto* c_units = c_org->add_subcommand("units", "units with codes, kinds and parents");
  c_units->add_flag("--json", org_json);
  c_units->callback([&] { rc = RunOrg(g, OrgListing::kUnits, org_json); });
  auto* c_grids = c_org->add_subcommand("grids", "grid cells with their village station and town");
  c_grids->add_flag("--json", org_json);
  c_grids->callback([&] { rc = RunOrg(g, OrgListing::kGrids, org_json); });
  auto* c_matters = c_org->add_subcommand(
      "responsibilities", "the responsibility list (责任清单): who handles each category");
  c_matters->add_flag("--json", org_json);
  c_matters->callback([&] { rc = RunOrg(g, OrgListing::kResponsibilities, org_json); });
  std::string route_category, route_grid, route_workflow;
  auto* c_route = c_org->add_subcommand(
      "route", "where a dispatch naming no unit sends a case of CATEGORY in GRID");
  c_route->add_option("category", route_category, "the case's category")->required();
  c_route->add_option("grid", route_grid, "the case's grid cell")->required();
  c_route->add_option("--workflow", route_workflow,
                      "with this workflow's routing rules (its latest version) before the list");
  c_route->add_flag("--json", org_json);
  c_route->callback(
      [&] { rc = RunOrgRoute(g, route_category, route_grid, route_workflow, org_json); });
  std::string org_file;
  RuleChangeOptions org_change;
  auto* c_org_publish = c_org->add_subcommand(
      "publish", "put an organisation file in force from the log (proposed under the checks)");
  c_org_publish->add_option("file", org_file, "organisation YAML file")->required();
  c_org_publish->add_option("--by", org_change.by, "who publishes it")->required();
  c_org_publish->add_option("--reason", org_change.reason, "why")->required();
  c_org_publish->add_option("--effective", org_change.effective,
                            "in force from this time (RFC 3339) instead of at once");
  c_org_publish->callback([&] { rc = RunOrgPublish(g, org_file, org_change); });

  auto* c_workflow = app.add_subcommand("workflow", "workflow definitions");
  c_workflow->require_subcommand(1);
  std::vector<std::string> validate_files;
  auto* c_validate = c_workflow->add_subcommand(
      "validate", "check workflow definition YAML files; one FILE:LINE:COL line per problem");
  c_validate->add_option("files", validate_files, "definition files")->required();
  c_validate->callback([&] { rc = RunWorkflowValidate(g, validate_files); });
  auto* c_calendar = app.add_subcommand("calendar", "business calendars (docs/calendar.md)");
  c_calendar->require_subcommand(1);
  std::vector<std::string> calendar_files;
  auto* c_cal_validate = c_calendar->add_subcommand(
      "validate", "check calendar YAML files; one FILE:LINE:COL line per problem");
  c_cal_validate->add_option("files", calendar_files, "calendar files")->required();
  c_cal_validate->callback([&] { rc = RunCalendarValidate(g, calendar_files); });
  std::string calendar_id;
  int calendar_year = 0;
  auto* c_cal_show = c_calendar->add_subcommand("show", "days off, make-up days and working hours");
  c_cal_show->add_option("id", calendar_id, "calendar id, e.g. cn-mainland")->required();
  c_cal_show->add_option("--year", calendar_year, "one year (default: every covered year)");
  c_cal_show->callback([&] { rc = RunCalendarShow(g, calendar_id, calendar_year); });
  std::string derive_calendar = "cn-mainland";
  int derive_year = 0;
  auto* c_cal_derive = c_calendar->add_subcommand(
      "derive", "a provisional year from the statutory holiday rules, as a calendar file");
  c_cal_derive->add_option("--year", derive_year, "the year, 2025..2100")->required();
  c_cal_derive->add_option("--calendar", derive_calendar, "calendar id (default cn-mainland)");
  c_cal_derive->callback([&] { rc = RunCalendarDerive(g, derive_calendar, derive_year); });
  std::string cal_publish_file;
  RuleChangeOptions cal_change;
  auto* c_cal_publish = c_calendar->add_subcommand(
      "publish", "put a year in force from the log (the official notice) and recount deadlines");
  c_cal_publish->add_option("file", cal_publish_file, "calendar year YAML file")->required();
  c_cal_publish->add_option("--by", cal_change.by, "who publishes it")->required();
  c_cal_publish->add_option("--reason", cal_change.reason, "why")->required();
  c_cal_publish->add_option("--effective", cal_change.effective,
                            "in force from this time (RFC 3339) instead of at once");
  c_cal_publish->callback([&] { rc = RunCalendarPublish(g, cal_publish_file, cal_change); });
  std::string recount_calendar;
  bool recount_dry_run = false;
  auto* c_cal_recount = c_calendar->add_subcommand(
      "recount", "recount open deadlines counted over a provisional year");
  c_cal_recount->add_option("id", recount_calendar, "calendar id, e.g. cn-mainland")->required();
  c_cal_recount->add_option("--by", cal_change.by, "who recounts")->required();
  c_cal_recount->add_option("--reason", cal_change.reason, "why")->required();
  c_cal_recount->add_flag("--dry-run", recount_dry_run, "list what would change; write nothing");
  c_cal_recount->callback(
      [&] { rc = RunCalendarRecount(g, recount_calendar, cal_change, recount_dry_run); });

  auto* c_wf_list = c_workflow->add_subcommand("list", "every definition and version");
  c_wf_list->callback([&] { rc = RunWorkflowList(g); });
  std::string wf_id, wf_format = "dot", wf_output;
  int32_t wf_version = 0, wf_a = 0, wf_b = 0;
  auto* c_wf_show = c_workflow->add_subcommand("show", "a definition's YAML");
  c_wf_show->add_option("id", wf_id, "workflow id")->required();
  c_wf_show->add_option("--version", wf_version, "version (default: the newest)");
  c_wf_show->callback([&] { rc = RunWorkflowShow(g, wf_id, wf_version); });
  auto* c_wf_diff =
      c_workflow->add_subcommand("diff", "what changed between two versions, item by item");
  c_wf_diff->add_option("id", wf_id, "workflow id")->required();
  c_wf_diff->add_option("a", wf_a, "the older version")->required();
  c_wf_diff->add_option("b", wf_b, "the newer version")->required();
  c_wf_diff->callback([&] { rc = RunWorkflowDiff(g, wf_id, wf_a, wf_b); });
  auto* c_wf_graph = c_workflow->add_subcommand("graph", "a definition as a diagram");
  c_wf_graph->add_option("id", wf_id, "workflow id")->required();
  c_wf_graph->add_option("--version", wf_version, "version (default: the newest)");
  c_wf_graph->add_option("--format", wf_format, "dot or svg (svg needs Graphviz)")
      ->check(CLI::IsMember({"dot", "svg"}))
      ->capture_default_str();
  c_wf_graph->add_option("--output,-o", wf_output, "file (default: stdout)");
  c_wf_graph->callback([&] { rc = RunWorkflowGraph(g, wf_id, wf_version, wf_format, wf_output); });

  DirectoryOptions dir_change;
  std::string dir_user, dir_name, dir_role, dir_unit, dir_label, dir_expires, dir_token;
  bool dir_json = false;
  auto* c_users = app.add_subcommand(
      "users", "the directory of people: users, their roles and units (docs/security.md)");
  c_users->require_subcommand(1);
  auto* c_users_add = c_users->add_subcommand("add", "add a user to the directory");
  c_users_add->add_option("user", dir_user, "the user id")->required();
  c_users_add->add_option("--name", dir_name, "the name people know them by")->required();
  c_users_add->add_option("--by", dir_change.by, "who adds them (default: your OS account)");
  c_users_add->add_option("--reason", dir_change.reason, "why");
  c_users_add->callback([&] { rc = RunUsersAdd(g, dir_change, dir_user, dir_name); });
  for (const bool revoke : {false, true}) {
    auto* c = c_users->add_subcommand(
        revoke ? "revoke" : "grant",
        revoke ? "take a role in a unit back from a user" : "give a user a role in a unit");
    c->add_option("user", dir_user, "the user id")->required();
    c->add_option("role", dir_role, "the role, e.g. unit, centre, supervisor")->required();
    c->add_option("unit", dir_unit, "the unit code (casegrid org units)")->required();
    c->add_option("--by", dir_change.by, "who changes it (default: your OS account)");
    auto* reason = c->add_option("--reason", dir_change.reason, "why");
    if (revoke) reason->required();
    c->callback(
        [&, revoke] { rc = RunUsersGrant(g, dir_change, dir_user, dir_role, dir_unit, revoke); });
  }
  std::string dir_state;
  auto* c_users_enforce = c_users->add_subcommand(
      "enforce", "turn the checks against the directory on or off (docs/security.md)");
  c_users_enforce->add_option("state", dir_state, "on or off")->required();
  c_users_enforce->add_option("--by", dir_change.by,
                              "who does it (an admin; default: your OS account)");
  c_users_enforce->add_option("--reason", dir_change.reason, "why")->required();
  c_users_enforce->callback([&] { rc = RunUsersEnforce(g, dir_change, dir_state); });
  auto* c_users_passwd = c_users->add_subcommand(
      "passwd", "set a user's password (typed twice, or the first line of stdin)");
  c_users_passwd->add_option("user", dir_user, "the user id")->required();
  c_users_passwd->add_option("--by", dir_change.by,
                             "who sets it (the user, or an admin; default: your OS account)");
  c_users_passwd->add_option("--reason", dir_change.reason, "why");
  c_users_passwd->callback([&] { rc = RunUsersPasswd(g, dir_change, dir_user); });
  int login_hours = 12;
  std::string login_label = "signed in with a password";
  auto* c_login = app.add_subcommand(
      "login", "sign in with a password and print a token for the session (docs/security.md)");
  c_login->add_option("user", dir_user, "the user id")->required();
  c_login->add_option("--label", login_label, "what the token is for")->capture_default_str();
  c_login->add_option("--hours", login_hours, "how long the token works")
      ->check(CLI::Range(1, 720))
      ->capture_default_str();
  c_login->callback([&] { rc = RunLogin(g, dir_user, login_label, login_hours); });
  auto* c_users_list = c_users->add_subcommand("list", "every user, their name and grants");
  c_users_list->add_flag("--json", dir_json, "as JSON");
  c_users_list->callback([&] { rc = RunUsersList(g, dir_json); });
  auto* c_users_show = c_users->add_subcommand("show", "one user: grants and tokens");
  c_users_show->add_option("user", dir_user, "the user id")->required();
  c_users_show->add_flag("--json", dir_json, "as JSON");
  c_users_show->callback([&] { rc = RunUsersShow(g, dir_user, dir_json); });

  auto* c_tokens = app.add_subcommand(
      "tokens", "API tokens that act for a user (programs, the web console; docs/security.md)");
  c_tokens->require_subcommand(1);
  auto* c_tokens_issue =
      c_tokens->add_subcommand("issue", "issue a token for a user and print it, this once");
  c_tokens_issue->add_option("user", dir_user, "the user it acts for")->required();
  c_tokens_issue->add_option("--label", dir_label, "what it is for, e.g. \"12345 gateway\"");
  c_tokens_issue->add_option("--expires", dir_expires,
                             "when it stops working (RFC 3339; default: when revoked)");
  c_tokens_issue->add_option("--by", dir_change.by, "who issues it (default: your OS account)");
  c_tokens_issue->callback(
      [&] { rc = RunTokensIssue(g, dir_change, dir_user, dir_label, dir_expires); });
  auto* c_tokens_revoke = c_tokens->add_subcommand("revoke", "a token authenticates no more");
  c_tokens_revoke->add_option("id", dir_token, "the token's id (tokens list)")->required();
  c_tokens_revoke->add_option("--by", dir_change.by, "who revokes it (default: your OS account)");
  c_tokens_revoke->add_option("--reason", dir_change.reason, "why")->required();
  c_tokens_revoke->callback([&] { rc = RunTokensRevoke(g, dir_change, dir_token); });
  auto* c_tokens_list = c_tokens->add_subcommand("list", "tokens: id, user, label, state");
  c_tokens_list->add_option("--user", dir_user, "only this user's");
  c_tokens_list->add_flag("--json", dir_json, "as JSON");
  c_tokens_list->callback([&] { rc = RunTokensList(g, dir_user, dir_json); });

  RuleChangeOptions change;
  std::string wf_file, wf_category;
  auto* c_wf_publish = c_workflow->add_subcommand(
      "publish", "validate a definition and put it in force as an event in the log");
  c_wf_publish->add_option("file", wf_file, "definition YAML file")->required();
  c_wf_publish->add_option("--by", change.by, "who publishes it")->required();
  c_wf_publish->add_option("--reason", change.reason, "why")->required();
  c_wf_publish->add_flag("--no-migration", change.no_migration,
                         "publish although open cases of the version before are in states this "
                         "one lacks (they stay on their version)");
  c_wf_publish->add_option("--effective", change.effective,
                           "in force from this time (RFC 3339) instead of at once");
  c_wf_publish->callback([&] { rc = RunWorkflowPublish(g, wf_file, change); });
  auto* c_wf_pin = c_workflow->add_subcommand(
      "pin", "new cases of a category take a given version (--version 0: the newest again)");
  c_wf_pin->add_option("id", wf_id, "workflow id")->required();
  c_wf_pin->add_option("category", wf_category, "case category")->required();
  c_wf_pin->add_option("--version", wf_version, "version; 0 lifts the pin")->required();
  c_wf_pin->add_option("--by", change.by, "who pins it")->required();
  c_wf_pin->add_option("--reason", change.reason, "why")->required();
  c_wf_pin->add_option("--effective", change.effective,
                       "in force from this time (RFC 3339) instead of at once");
  c_wf_pin->callback([&] { rc = RunWorkflowPin(g, wf_id, wf_category, wf_version, change); });
  bool proposals_json = false;
  auto* c_wf_proposals = c_workflow->add_subcommand(
      "proposals", "rule changes proposed, approved, scheduled and withdrawn (two-person rule)");
  c_wf_proposals->add_flag("--json", proposals_json, "as JSON");
  c_wf_proposals->callback([&] { rc = RunWorkflowProposals(g, proposals_json); });
  uint64_t proposal = 0;
  auto* c_wf_approve = c_workflow->add_subcommand(
      "approve", "put a proposed rule change in force, at once or from --effective");
  c_wf_approve->add_option("proposal", proposal, "the proposal's number")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 53));
  c_wf_approve->add_option("--by", change.by, "who approves it (not its proposer)")->required();
  c_wf_approve->add_option("--reason", change.reason, "why")->required();
  c_wf_approve->add_option("--effective", change.effective,
                           "in force from this time (RFC 3339) instead of at once");
  c_wf_approve->callback([&] { rc = RunWorkflowApprove(g, proposal, change); });
  auto* c_wf_withdraw =
      c_workflow->add_subcommand("withdraw", "withdraw a proposed or scheduled rule change");
  c_wf_withdraw->add_option("proposal", proposal, "the proposal's number")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 53));
  c_wf_withdraw->add_option("--by", change.by, "who withdraws it")->required();
  c_wf_withdraw->add_option("--reason", change.reason, "why")->required();
  c_wf_withdraw->callback([&] { rc = RunWorkflowWithdraw(g, proposal, change); });
  auto* c_wf_adopt = c_workflow->add_subcommand(
      "adopt", "record the configuration in force on the log; its files become candidates");
  c_wf_adopt->add_option("--by", change.by, "the supervisor who adopts it")->required();
  c_wf_adopt->add_option("--reason", change.reason, "why")->required();
  c_wf_adopt->callback([&] { rc = RunWorkflowAdopt(g, change); });

  MigrateOptions migrate;
  auto* c_wf_migrate = c_workflow->add_subcommand(
      "migrate", "move open cases to another version with an explicit state mapping");
  c_wf_migrate->add_option("id", migrate.id, "workflow id")->required();
  c_wf_migrate->add_option("--from", migrate.from, "the version the cases are on")->required();
  c_wf_migrate->add_option("--to", migrate.to, "the version they move to")->required();
  c_wf_migrate->add_option("--map", migrate.map,
                           "OLD=NEW[,...]: the new state of each old one (same-named states map "
                           "to themselves)");
  c_wf_migrate->add_option("--cases", migrate.cases,
                           "KEY=VALUE[,...] over state, category, unit, grid, station, case "
                           "(default: every open case of --from)");
  c_wf_migrate->add_flag("--dry-run", migrate.dry_run, "print what would happen, write nothing");
  c_wf_migrate->add_option("--at", migrate.at, "when the cases move (RFC 3339); default now");
  c_wf_migrate->add_flag("--send", migrate.send,
                         "with --log kafka and workers: check here, then send one migrate "
                         "command per case to the workers' commands topic");
  c_wf_migrate->add_option("--by", change.by, "who migrates")->required();
  c_wf_migrate->add_option("--reason", change.reason, "why")->required();
  c_wf_migrate->callback([&] { rc = RunWorkflowMigrate(g, migrate, change); });

  std::string whatif_from, whatif_to;
  auto* c_wf_whatif = c_workflow->add_subcommand(
      "whatif", "run the recorded cases of a period through a draft definition (writes nothing)");
  c_wf_whatif->add_option("draft", wf_file, "draft definition YAML")->required();
  c_wf_whatif->add_option("--from", whatif_from, "first day cases were opened (YYYY-MM-DD)");
  c_wf_whatif->add_option("--to", whatif_to, "last day cases were opened (YYYY-MM-DD)");
  int whatif_threads = 0;
  c_wf_whatif
      ->add_option("--threads", whatif_threads,
                   "engines running the draft at once, cases split among them (default: "
                   "one per core, at most 8)")
      ->check(CLI::Range(0, 64));
  c_wf_whatif->callback(
      [&] { rc = RunWorkflowWhatIf(g, wf_file, whatif_from, whatif_to, whatif_threads); });

  DemoOptions demo;
  auto* c_demo =
      app.add_subcommand("demo", "simulate the reference district on a virtual clock and report");
  c_demo->add_option("--days", demo.days, "days to simulate")
      ->check(CLI::Range(1, 3660))
      ->capture_default_str();
  c_demo->add_option("--seed", demo.seed, "random seed: same seed, same report")
      ->capture_default_str();
  c_demo->add_option("--start", demo.start, "first simulated day")->capture_default_str();
  c_demo->add_flag("--quiet,-q", demo.quiet, "no progress bar");
  c_demo->callback([&] { rc = RunDemo(g, demo); });

  bench::Options bench;
  auto* c_bench = app.add_subcommand("bench", "measure casegrid against raw LMDB baselines");
  c_bench->add_option("--cases", bench.cases, "case lifecycles to write")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}))
      ->capture_default_str();
  c_bench->add_option("--batch", bench.batch, "commands per group commit")
      ->check(CLI::Range(size_t{1}, size_t{100000}))
      ->capture_default_str();
  c_bench->add_option("--dir", bench.dir, "scratch directory (default: a new one under /tmp)");
  c_bench->add_flag("--json", bench.json);
  c_bench
      ->add_option("--http", bench.http_clients,
                   "also drive the HTTP API with N concurrent clients")
      ->check(CLI::Range(1, 256));
  c_bench
      ->add_option("--http-batch", bench.http_batch,
                   "commands a request over HTTP (more than 1: NDJSON requests)")
      ->check(CLI::Range(size_t{1}, size_t{10000}))
      ->capture_default_str();
  c_bench->add_option("--http-cases", bench.http_cases, "case lifecycles sent over HTTP")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}))
      ->capture_default_str();
  c_bench
      ->add_option("--http-rounds", bench.http_rounds,
                   "rounds of the HTTP comparison (each in process, then over HTTP); the "
                   "median round's ratio is reported")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  c_bench->callback([&] { rc = RunBench(g, bench); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return rc;
}
