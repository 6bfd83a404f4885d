// End-to-end tests of `casegrid kafka-dev`: the built binary (CASEGRID_BINARY)
// runs as a child process and kcat (Debian package kafkacat) talks Kafka to
// it. Every wait has a deadline, and the child is killed whatever happens.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "tests/tools/process_util.h"

namespace {

using casegrid::test::Child;
using casegrid::test::Clock;
using casegrid::test::Describe;
using casegrid::test::Output;
using casegrid::test::ReadFile;
using casegrid::test::WaitUntil;
using std::chrono::seconds;

constexpr const char* kKcat = "/usr/bin/kcat";

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// Runs `args` in `dir` to completion with `input` on stdin, killing it after
// `limit` (status -1).
Output Run(const casegrid::test::TempDir& dir, const std::vector<std::string>& args,
           const std::string& input = "", Clock::duration limit = seconds(15)) {
  return casegrid::test::RunProcess(args, dir.path(), casegrid::test::Environment(),
                                    casegrid::test::Stdin::Text(input), limit);
}

}  // namespace

TEST_CASE("kafka-dev serves kcat, writes the bootstrap file, and exits 0 on SIGTERM",
          "[kafka-dev]") {
  REQUIRE(std::filesystem::exists(kKcat));  // Debian package kafkacat (./run installs it)
  casegrid::test::TempDir dir;
  const std::string file = dir.Sub("bootstrap");
  Child dev({CASEGRID_BINARY, "kafka-dev", "--brokers", "1", "--partitions", "3",
             "--bootstrap-file", file},
            dir.Sub("dev.out"), dir.Sub("dev.err"));
  const bool appeared = WaitUntil(
      seconds(10), [&] { return std::filesystem::exists(file) || dev.Poll().has_value(); });
  INFO("kafka-dev stdout:\n" << dev.Out() << "\nstderr:\n" << dev.Err());
  REQUIRE(appeared);
  REQUIRE_FALSE(dev.Poll().has_value());
  const std::string address = FirstLine(ReadFile(file));
  REQUIRE(std::regex_match(address, std::regex(R"(127\.0\.0\.1:\d+)")));
  CHECK(ReadFile(file) == address + "\n");
  CHECK(FirstLine(dev.Out()) == address);  // printed before the file was written
  CHECK(dev.Err().find("for development and tests only") != std::string::npos);
  CHECK(dev.Err().find("loses it on exit") != std::string::npos);

  const Output produce = Run(
      dir, {kKcat, "-b", address, "-P", "-t", "casegrid.events", "-k", "case-1"}, "case opened\n");
  INFO("kcat -P: " << Describe(produce));
  REQUIRE(produce.status == 0);

  const Output consume = Run(dir, {kKcat, "-b", address, "-C", "-t", "casegrid.events", "-o",
                                   "beginning", "-c", "1", "-e", "-f", "%k %s"});
  INFO("kcat -C: " << Describe(consume));
  REQUIRE(consume.status == 0);
  CHECK(consume.out == "case-1 case opened");

  const Output list = Run(dir, {kKcat, "-b", address, "-L"});
  INFO("kcat -L: " << Describe(list));
  REQUIRE(list.status == 0);
  CHECK(list.out.find("topic \"casegrid.events\" with 3 partitions") != std::string::npos);
  CHECK(list.out.find("topic \"casegrid.commands\" with 3 partitions") != std::string::npos);

  dev.Signal(SIGTERM);
  const std::optional<int> status = dev.Wait(seconds(10));
  INFO("kafka-dev stderr after SIGTERM:\n" << dev.Err());
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK_FALSE(std::filesystem::exists(file));
}

TEST_CASE("kafka-dev without a bootstrap file prints the address first and exits 0 on SIGINT",
          "[kafka-dev]") {
  casegrid::test::TempDir dir;
  Child dev({CASEGRID_BINARY, "kafka-dev", "--brokers", "2", "--partitions", "1", "--topic-prefix",
             "dev"},
            dir.Sub("dev.out"), dir.Sub("dev.err"));
  const bool printed = WaitUntil(seconds(10), [&] {
    return dev.Out().find('\n') != std::string::npos || dev.Poll().has_value();
  });
  INFO("kafka-dev stdout:\n" << dev.Out() << "\nstderr:\n" << dev.Err());
  REQUIRE(printed);
  CHECK(std::regex_match(FirstLine(dev.Out()), std::regex(R"(127\.0\.0\.1:\d+,127\.0\.0\.1:\d+)")));
  dev.Signal(SIGINT);
  const std::optional<int> status = dev.Wait(seconds(10));
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(dev.Out() == FirstLine(dev.Out()) + "\n");  // nothing but the address on stdout
}

TEST_CASE("kafka-dev refuses zero brokers with exit status 2", "[kafka-dev]") {
  casegrid::test::TempDir dir;
  const Output o = Run(dir, {CASEGRID_BINARY, "kafka-dev", "--brokers", "0"}, "", seconds(10));
  INFO(Describe(o));
  CHECK(o.status == 2);
  CHECK(o.err.find("--brokers must be 1..64") != std::string::npos);
}
