// server::DecodeAhead: decodes NDJSON command lines into batches on a second
// thread while the caller applies the previous batch (group commit with the
// decoding of the next batch overlapped): `casegrid submit` and the benchmark
// (bench/) take commands through it. Holds at most `depth` decoded batches in
// memory. Thread-safety: Next() is called from one thread; the decoder runs on
// its own. Lifetime: whatever `next_line` reads must outlive the DecodeAhead;
// the destructor stops the decoder and joins it.
#ifndef CASEGRID_SERVER_DECODE_AHEAD_H_
#define CASEGRID_SERVER_DECODE_AHEAD_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/thread_name.h"
#include "engine/command_json.h"
#include "engine/decider.h"
#include "engine/engine.h"

namespace casegrid::server {

// One batch: the commands that decoded and passed engine::CheckCommandText,
// and the lines that did not, each with the InvalidArgument saying why
// (engine::ParseCommandJson, CheckCommandText). Blank lines are skipped but
// counted.
struct DecodedBatch {
  std::vector<casegrid::v1::Command> commands;
  // engine::CommandDigest of each command with an id ("" without), computed
  // here so that the writer's thread does not.
  std::vector<std::string> digests;
  // For Engine::Apply: the digests, and the text check done.
  engine::Prepared prepared() const { return {.digests = digests, .text_checked = true}; }
  std::vector<uint64_t> lines;                         // line number of each command
  std::vector<std::pair<uint64_t, Status>> bad_lines;  // lines that did not decode
  uint64_t bytes_consumed = 0;                         // input bytes up to this batch's end
};

class DecodeAhead {
 public:
  // Starts decoding at once. `next_line` stores the next line (without its
  // newline) and returns false at the end of the input; it runs on the
  // decoding thread only. Each batch holds up to `batch_size` commands.
  DecodeAhead(std::function<bool(std::string*)> next_line, size_t batch_size, size_t depth = 2)
      : next_line_(std::move(next_line)),
        batch_size_(batch_size),
        depth_(depth),
        thread_([this] { Run(); }) {}
  ~DecodeAhead() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  // Waits for the next batch in input order and stores it in `out`; false
  // once the input is exhausted and every batch was handed out. What `out`
  // held before is handed to the decoding thread to free.
  bool Next(DecodedBatch* out) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) return false;
    if (!done_) spent_.push_back(std::move(*out));
    *out = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    return true;
  }

 private:
  void Run() {
    NameThisThread("cg-decode");
    std::string line;
    uint64_t line_no = 0, bytes = 0;
    bool more = true;
    while (more) {
      DecodedBatch batch;
      while (batch.commands.size() < batch_size_ && (more = next_line_(&line))) {
        ++line_no;
        bytes += line.size() + 1;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto cmd = engine::ParseCommandJson(line);
        if (cmd.ok()) {
          if (Status text = engine::CheckCommandText(*cmd); !text.ok()) cmd = std::move(text);
        }
        if (cmd.ok()) {
          batch.digests.push_back(cmd->id().empty() ? std::string() : engine::CommandDigest(*cmd));
          batch.commands.push_back(std::move(cmd).value());
          batch.lines.push_back(line_no);
        } else {
          batch.bad_lines.emplace_back(line_no, cmd.status());
        }
      }
      batch.bytes_consumed = bytes;
      std::deque<DecodedBatch> spent;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return ready_.size() < depth_ || stop_; });
        if (stop_) return;
        ready_.push_back(std::move(batch));
        spent.swap(spent_);
        cv_.notify_all();
      }
      // `spent` is freed here, outside the lock, on this thread.
    }
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  std::function<bool(std::string*)> next_line_;
  const size_t batch_size_, depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DecodedBatch> ready_;    // GUARDED_BY(mu_)
  std::deque<DecodedBatch> spent_;    // GUARDED_BY(mu_): batches the caller is done with
  bool done_ = false, stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;                // last: starts after the members above exist
};

}  // namespace casegrid::server

#endif  // CASEGRID_SERVER_DECODE_AHEAD_H_
