// Counts events by type.
#include "projections/event_counts.h"

#include "events/event_store.h"

namespace portail::projections {
namespace {
constexpr std::string_view kTypePrefix = "type/";
}

void EventCounts::Apply(const schema::EventRecord& event, events::ViewWriter& rows) {
  std::string key(kTypePrefix);
  key.append(events::EventTypeName(event.payload_type()));
  auto current = rows.Get(key);
  uint64_t count = current ? events::DecodeBigEndian64(*current) : 0;
  rows.Put(key, events::EncodeBigEndian64(count + 1));
}

std::map<std::string, uint64_t> EventCounts::Read(const events::ViewReader& rows) {
  std::map<std::string, uint64_t> out;
  rows.Scan(kTypePrefix, [&out](std::string_view key, std::string_view value) {
    out[std::string(key.substr(kTypePrefix.size()))] = events::DecodeBigEndian64(value);
    return true;
  });
  return out;
}

}  // namespace portail::projections
