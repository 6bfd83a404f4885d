// server::DecodeAhead: NDJSON lines decoded on a second thread, handed out in
// batches in input order.
#include <string>
#include <vector>

#include "server/decode_ahead.h"
#include "tests/test_util.h"

namespace {

using casegrid::server::DecodeAhead;
using casegrid::server::DecodedBatch;

std::string Line(const std::string& id) {
  return "{\"id\":\"" + id + "\",\"case\":\"" + id +
         "\",\"action\":\"urge\",\"actor\":{\"user\":\"c01\",\"role\":\"centre\",\"unit\":"
         "\"371302\"}}";
}

}  // namespace

TEST_CASE(
    "decode-ahead hands out batches in input order and numbers each line that does not decode or "
    "is not text",
    "[server]") {
  // The last line's id and case hold a control character (CheckCommandText,
  // done here: DecodedBatch::prepared() tells the engine so).
  const std::vector<std::string> input = {Line("A"), "",   Line("B"), "not json",      Line("C"),
                                          Line("D"), "  ", Line("E"), Line("F\\u0007")};
  size_t next = 0;
  uint64_t bytes = 0;
  for (const auto& line : input) bytes += line.size() + 1;
  DecodeAhead decoder(
      [&](std::string* line) {
        if (next == input.size()) return false;
        *line = input[next++];
        return true;
      },
      /*batch_size=*/2, /*depth=*/1);
  std::vector<std::string> cases;
  std::vector<uint64_t> lines, bad;
  DecodedBatch batch;
  size_t batches = 0;
  uint64_t consumed = 0;
  while (decoder.Next(&batch)) {
    ++batches;
    CHECK(batch.commands.size() <= 2);
    REQUIRE(batch.lines.size() == batch.commands.size());
    REQUIRE(batch.digests.size() == batch.commands.size());
    for (size_t i = 0; i < batch.commands.size(); ++i) {
      // The digest the engine would compute, done on the decoder's thread.
      CHECK(batch.digests[i] == casegrid::engine::CommandDigest(batch.commands[i]));
      CHECK(batch.digests[i].size() == 16);
      cases.push_back(batch.commands[i].case_id());
      lines.push_back(batch.lines[i]);
    }
    for (const auto& [line, status] : batch.bad_lines) {
      bad.push_back(line);
      CHECK(status.IsInvalidArgument());
      if (line == 9) CHECK_THAT(status.message(), Catch::Contains("control character"));
    }
    CHECK(batch.prepared().text_checked);
    CHECK(batch.prepared().digests.size() == batch.commands.size());
    CHECK(batch.bytes_consumed >= consumed);
    consumed = batch.bytes_consumed;
  }
  CHECK(cases == std::vector<std::string>{"A", "B", "C", "D", "E"});
  CHECK(lines == std::vector<uint64_t>{1, 3, 5, 6, 8});
  CHECK(bad == std::vector<uint64_t>{4, 9});
  CHECK(batches == 3);
  CHECK(consumed == bytes);
  CHECK_FALSE(decoder.Next(&batch));
}

TEST_CASE("decode-ahead destroyed before its endless input is read stops its thread", "[server]") {
  uint64_t produced = 0;
  {
    DecodeAhead decoder(
        [&](std::string* line) {
          *line = Line("X-" + std::to_string(produced++));
          return true;
        },
        /*batch_size=*/10, /*depth=*/2);
    DecodedBatch batch;
    REQUIRE(decoder.Next(&batch));
    CHECK(batch.commands.size() == 10);
    CHECK(batch.commands.front().case_id() == "X-0");
  }
  // At most the batch handed out, `depth` ready ones and the one being filled.
  CHECK(produced <= 40);
}
