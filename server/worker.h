// server::Worker: one engine worker in the consumer group on <prefix>.commands
// (docs/operations.md, "Running several workers"). `casegrid worker` runs one
// per process; a test runs one on a thread of its own.
//
// For each commands partition p the group assigns it, the worker opens a
// worker log on events partition p (its own state store,
// <data_dir>/worker/p<N>, brought up to the topic, and the transactional id
// <prefix>.worker.p<N>, which fences the previous owner) and continues after
// the last answer in <prefix>.answers partition p. Each poll's commands of a
// partition are one Kafka transaction: their events, then one answer per
// command (a casegrid.v1.CommandAnswer as JSON, keyed by case id), then the
// consumed offsets. So a command is answered exactly when its events are
// committed, and a worker that dies leaves nothing half done: the next owner
// reads its commands again from after the last answer. Deadlines fire every
// tick_ms on the partitions it owns; the definitions chain is followed before
// each poll's commands are decided.
//
// Thread-safety: Run is called once, from one thread; Stop from any thread,
// or from a signal handler. Lifetime: `env` and the Kafka cluster outlive the
// worker; destroy it only after Run returned (or without calling Run).
#ifndef CASEGRID_SERVER_WORKER_H_
#define CASEGRID_SERVER_WORKER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "base/env.h"
#include "base/status.h"
#include "engine/engine.h"
#include "events/kafka_log.h"
#include "events/personal.h"

namespace casegrid::server {

struct WorkerOptions {
  // The cluster, the topics and where the state stores live.
  std::string brokers;  // bootstrap HOST:PORT[,...]; required
  std::string topic_prefix = "casegrid";
  int partitions = 12;               // of the events topic: a case's partition is murmur2(case id)
  std::string data_dir;              // state stores in <data_dir>/worker/p<N>; required
  bool sync = true;                  // fsync each state store commit
  events::KafkaSettings properties;  // extra librdkafka properties for its clients
  // The key store personal values are sealed with (the keys topic,
  // events/kafka_keys.h), used from Run's thread; it outlives the worker.
  // Null: they are written as sent (tests of other things only).
  events::KeyStore* keys = nullptr;
  // The district's petitioner key (engine/petitioner.h) and its file, for
  // errors; empty: intakes record no petitioner keys.
  std::string petitioner_secret;
  std::string petitioner_key_path;
  // This worker.
  std::string name;                // in answers and logs; empty: HOST-PID
  std::string group;               // consumer group; empty: <prefix>.workers
  size_t batch = 500;              // commands per transaction at most
  int tick_ms = 1000;              // how often deadlines are fired
  int session_timeout_ms = 10000;  // a worker silent this long is replaced
};

class Worker {
 public:
  // Creates the consumer and subscribes to <prefix>.commands; the group
  // assigns partitions once Run polls. `config` is the configuration the
  // worker starts from (engine::LoadConfig); it follows the definitions chain
  // from there. InvalidArgument without brokers or data_dir, or for a
  // setting librdkafka refuses; Unavailable when subscribing fails.
  static Result<std::unique_ptr<Worker>> Open(WorkerOptions options, engine::Config config,
                                              Env* env);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Serves until Stop() is called or `stop_requested` (checked between polls,
  // every 100 ms or so) returns true, then leaves the group, which hands its
  // partitions to the other workers at once, and returns OK. Returns earlier
  // with the failure this worker must not continue after: another worker
  // fenced it (the transaction's error), a partition it cannot open or
  // reopen (e.g. Corruption when the last answer on the answers topic is not
  // a casegrid answer; Unavailable), or a definitions chain it cannot read.
  // A failed transaction is not such a failure: the partition is reopened
  // and its commands are read again from after the last answer.
  Status Run(const std::function<bool()>& stop_requested = {});

  // Makes Run return after the poll in progress. Async-signal-safe (one
  // lock-free atomic store).
  void Stop();

  const std::string& name() const;

 private:
  class Impl;
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_WORKER_H_
