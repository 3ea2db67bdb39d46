// A view's rows held in memory, written and read as the store's are: for tests of views and of
// what reads them, without RocksDB.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "events/projection.h"

namespace portail::testing {

class MemoryRows : public events::ViewWriter, public events::ViewReader {
 public:
  MemoryRows() = default;
  explicit MemoryRows(std::map<std::string, std::string> rows) : rows_(std::move(rows)) {}

  void Put(std::string_view key, std::string_view value) override {
    rows_[std::string(key)] = std::string(value);
  }
  void Delete(std::string_view key) override { rows_.erase(std::string(key)); }
  std::optional<std::string> Get(std::string_view key) override {
    return std::as_const(*this).Get(key);
  }
  std::optional<std::string> Get(std::string_view key) const override {
    auto found = rows_.find(std::string(key));
    if (found == rows_.end()) return std::nullopt;
    return found->second;
  }
  void Scan(std::string_view prefix,
            const std::function<bool(std::string_view, std::string_view)>& fn) const override {
    for (auto it = rows_.lower_bound(std::string(prefix)); it != rows_.end(); ++it) {
      if (!std::string_view(it->first).starts_with(prefix)) break;
      if (!fn(it->first, it->second)) break;
    }
  }
  size_t size() const { return rows_.size(); }

 private:
  std::map<std::string, std::string> rows_;
};

}  // namespace portail::testing
