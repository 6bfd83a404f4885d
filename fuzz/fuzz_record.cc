// libFuzzer target: bytes read from a log as an event record (a damaged
// journal page, a foreign record on the topic): the hash check and parse
// (events/log.h OpenRecord) and the header reader of the Kafka log
// (RecordEventType) must refuse or accept, never crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/casegrid.pb.h"
#include "events/kafka_log.h"
#include "events/log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view record(reinterpret_cast<const char*>(data), size);
  casegrid::v1::Event event;
  (void)casegrid::events::OpenRecord(record, nullptr, &event);
  const std::string prev(32, '\0');
  (void)casegrid::events::OpenRecord(record, &prev, &event);
  (void)casegrid::events::RecordEventType(record);
  return 0;
}
