// `replay`: the operator's and auditor's tool over a data directory: verify, stats, digest,
// rebuild, swap and history.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "events/event_store.h"
#include "events/view_digest.h"
#include "events/view_rebuild.h"
#include "projections/registry.h"
#include "tools/replay/history.h"

namespace {

namespace events = portail::events;
namespace projections = portail::projections;

// The secondary instance's scratch directory (its own info log), removed when the tool exits.
std::string SecondaryPath() {
  return (std::filesystem::temp_directory_path() / ("portail-replay-" + std::to_string(getpid())))
      .string();
}

// Opens DIR/log beside a possibly running server, as a RocksDB secondary instance.
portail::Result<std::unique_ptr<events::EventStore>> OpenReadOnly(
    const std::string& data_dir, std::vector<events::Projection*> projections) {
  std::string log_dir = data_dir + "/log";
  if (!std::filesystem::exists(log_dir + "/CURRENT")) {
    return portail::Fail(portail::ErrorCode::kNotFound, "no event log in " + data_dir);
  }
  events::StoreOptions options;
  options.path = log_dir;
  options.read_only = true;
  options.secondary_path = SecondaryPath();
  options.projections = std::move(projections);
  return events::EventStore::Open(std::move(options));
}

int Report(const portail::Error& error) {
  std::cerr << "replay: " << error.message << "\n";
  return 2;
}

// A view the server registers today but the log's writer did not have: its column family does
// not exist, and a read-only (secondary) instance cannot create it.
constexpr char kAbsentView[] =
    "not built by the server that wrote this log yet: it is built when a server that has it "
    "starts";

portail::Error AbsentView(std::string_view name) {
  return portail::Error(portail::ErrorCode::kNotFound,
                        "the log has no view " + std::string(name) + " (" + kAbsentView + ")");
}

// Every view the server registers (projections/registry.h), owned, and the ones a command names.
struct Views {
  std::vector<std::unique_ptr<events::Projection>> owned;
  std::vector<events::Projection*> all;
  std::vector<events::Projection*> chosen;
};

// The server's views, with those named in `names` (every one with `all`) chosen, or an error
// naming an unknown view.
portail::Result<Views> Choose(const std::vector<std::string>& names, bool all) {
  Views views;
  for (const auto& name : projections::ViewNames()) {
    views.owned.push_back(projections::MakeView(name));
    views.all.push_back(views.owned.back().get());
  }
  if (all) {
    views.chosen = views.all;
    return views;
  }
  if (names.empty()) {
    return portail::Fail(portail::ErrorCode::kInvalid,
                         "name at least one view (" + projections::ViewNamesText() + ") or --all");
  }
  for (const auto& name : names) {
    auto known = std::ranges::find(projections::ViewNames(), name);
    if (known == projections::ViewNames().end()) {
      return portail::Fail(portail::ErrorCode::kInvalid, "unknown view '" + name + "' (known: " +
                                                             projections::ViewNamesText() + ")");
    }
    views.chosen.push_back(views.all[known - projections::ViewNames().begin()]);
  }
  return views;
}

std::string Month(int64_t recorded_at_us) {
  std::time_t seconds = static_cast<std::time_t>(recorded_at_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m", &tm);
  return buf;
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return buf;
}

uint64_t DirectorySize(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;  // a file removed by a compaction meanwhile counts for nothing
    if (it->is_regular_file(size_ec)) {
      uint64_t size = it->file_size(size_ec);
      if (!size_ec) total += size;
    }
  }
  return total;
}

void PrintTable(const std::string& title, const std::string& column,
                const std::map<std::string, uint64_t>& rows) {
  size_t width = column.size();
  for (const auto& [key, count] : rows) width = std::max(width, key.size());
  std::printf("\n%s\n", title.c_str());
  std::printf("  %-*s %12s\n", static_cast<int>(width), column.c_str(), "events");
  for (const auto& [key, count] : rows) {
    std::printf("  %-*s %12llu\n", static_cast<int>(width), key.c_str(),
                static_cast<unsigned long long>(count));
  }
}

int Verify(const std::string& data_dir) {
  auto views = Choose({}, /*all=*/true);
  if (!views) return Report(views.error());
  auto store = OpenReadOnly(data_dir, views->all);
  if (!store) return Report(store.error());
  auto report = (*store)->Verify();
  if (!report) return Report(report.error());
  if (!report->ok()) {
    std::cout << "FAILED: " << report->problem;
    if (report->first_bad_position)
      std::cout << " (first bad position " << *report->first_bad_position << ")";
    std::cout << "\n";
    return 1;
  }
  std::cout << "ok: " << report->events_checked << " events, chain and stream index verified\n";
  std::string absent;
  for (events::Projection* p : views->all) {
    if ((*store)->View(p->name()) == nullptr)
      absent += (absent.empty() ? "" : ", ") + std::string(p->name());
  }
  std::cout << "views' checkpoints at the head"
            << (absent.empty() ? "" : "; absent (not built by the server yet): " + absent) << "\n";
  return 0;
}

int Stats(const std::string& data_dir) {
  auto store = OpenReadOnly(data_dir, {});
  if (!store) return Report(store.error());
  std::map<std::string, uint64_t> by_type;
  std::map<std::string, uint64_t> by_month;
  std::unordered_set<std::string> streams;
  uint64_t events_seen = 0;
  auto scanned = (*store)->ScanAll(1, [&](const portail::schema::EventRecord& event) {
    ++events_seen;
    ++by_type[std::string(events::EventTypeName(event.payload_type()))];
    ++by_month[Month(event.recorded_at_us())];
    if (event.stream_id() != nullptr) streams.insert(event.stream_id()->str());
    return true;
  });
  if (!scanned) return Report(scanned.error());
  std::printf("data directory  %s\n", data_dir.c_str());
  std::printf("events          %llu\n", static_cast<unsigned long long>(events_seen));
  std::printf("head position   %llu\n", static_cast<unsigned long long>((*store)->HeadPosition()));
  std::printf("streams         %zu\n", streams.size());
  std::printf("size on disk    %s (log/)\n", HumanBytes(DirectorySize(data_dir + "/log")).c_str());
  PrintTable("by type", "type", by_type);
  PrintTable("by month (UTC)", "month", by_month);
  return 0;
}

int Digest(const std::string& data_dir, const std::vector<std::string>& names, bool all) {
  auto views = Choose(names, all);
  if (!views) return Report(views.error());
  auto store = OpenReadOnly(data_dir, views->all);
  if (!store) return Report(store.error());
  int code = 0;
  for (events::Projection* p : views->chosen) {
    const events::ViewReader* rows = (*store)->View(p->name());
    if (rows == nullptr) {
      // With --all an absent view is reported and the others digested; named, it is an error.
      std::printf("%-14s absent (%s)\n", std::string(p->name()).c_str(), kAbsentView);
      if (!all) code = Report(AbsentView(p->name()));
      continue;
    }
    auto checkpoint = (*store)->Checkpoint(p->name());
    if (!checkpoint) return Report(checkpoint.error());
    std::printf("%-14s %s  (checkpoint %llu)\n", std::string(p->name()).c_str(),
                events::ViewDigest(*rows).c_str(), static_cast<unsigned long long>(*checkpoint));
  }
  return code;
}

// Shows a rebuild's progress: a bar rewritten in place on a terminal, else a line every ~10%.
class Progress {
 public:
  explicit Progress(std::string name)
      : name_(std::move(name)), tty_(isatty(1) == 1), start_(std::chrono::steady_clock::now()) {}

  void operator()(uint64_t done, uint64_t total) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    double left = rate > 0 ? static_cast<double>(total - std::min(done, total)) / rate : 0;
    int percent = total == 0 ? 100 : static_cast<int>(100 * done / total);
    if (tty_) {
      constexpr int kWidth = 30;
      std::string bar(kWidth * percent / 100, '#');
      bar.resize(kWidth, '.');
      std::printf("\r%-14s [%s] %3d%% %llu/%llu events  %.0f ev/s  %.0fs left ", name_.c_str(),
                  bar.c_str(), percent, static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total), rate, left);
      std::fflush(stdout);
    } else if (percent >= next_percent_ || done == total) {
      if (done == total && printed_end_) return;
      printed_end_ = done == total;
      std::printf("%s: %d%% (%llu/%llu events, %.0f ev/s, %.0fs left)\n", name_.c_str(), percent,
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                  rate, left);
      next_percent_ = (percent / 10 + 1) * 10;
    }
  }
  void Finish() {
    if (tty_) std::printf("\n");
  }

 private:
  std::string name_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  int next_percent_ = 10;
  bool printed_end_ = false;
};

std::string Timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

int Rebuild(const std::string& data_dir, std::string out_dir, const std::vector<std::string>& names,
            bool all, uint64_t memory_mb) {
  auto views = Choose(names, all);
  if (!views) return Report(views.error());
  auto store = OpenReadOnly(data_dir, views->all);
  if (!store) return Report(store.error());
  if (out_dir.empty()) out_dir = data_dir + "/rebuild-" + Timestamp();
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) {
    return Report(portail::Error(portail::ErrorCode::kIoError,
                                 "cannot create " + out_dir + ": " + ec.message()));
  }
  std::printf("rebuilding %zu view(s) into %s, log head %llu\n", views->chosen.size(),
              out_dir.c_str(), static_cast<unsigned long long>((*store)->HeadPosition()));
  // Fresh projection objects: the rebuild shares nothing with the live views' readers.
  std::vector<std::unique_ptr<events::Projection>> fresh;
  std::vector<events::RebuildTarget> targets;
  for (events::Projection* p : views->chosen) {
    fresh.push_back(projections::MakeView(p->name()));
    targets.push_back({fresh.back().get(), out_dir + "/" + std::string(p->name())});
  }
  events::RebuildOptions options;
  options.memory_per_view = memory_mb << 20;
  Progress progress(targets.size() == 1 ? std::string(targets[0].projection->name()) : "views");
  auto reports =
      events::RebuildViews(**store, targets, options,
                           [&progress](uint64_t done, uint64_t total) { progress(done, total); });
  progress.Finish();
  if (!reports) return Report(reports.error());
  bool all_equal = true;
  for (size_t i = 0; i < targets.size(); ++i) {
    std::string name(targets[i].projection->name());
    const events::RebuildReport& report = (*reports)[i];
    double rate = report.seconds > 0 ? report.events_applied / report.seconds : 0;
    std::printf("%s: %llu events in %.2fs (%.0f events/s)", name.c_str(),
                static_cast<unsigned long long>(report.events_applied), report.seconds, rate);
    if (report.spills > 0) {
      std::printf(", rows written out %llu time(s) before the end (--memory-mb)",
                  static_cast<unsigned long long>(report.spills));
    }
    std::printf("\n");
    // An absent live view is rebuilt all the same (swap puts it in place); nothing to compare.
    const events::ViewReader* live = (*store)->View(name);
    if (live == nullptr) {
      std::printf("  rebuilt digest %s\n  live view      absent (%s)\n", report.digest.c_str(),
                  kAbsentView);
      continue;
    }
    std::string live_digest = events::ViewDigest(*live);
    bool equal = live_digest == report.digest;
    all_equal = all_equal && equal;
    std::printf("  rebuilt digest %s\n  live digest    %s\n  %s\n", report.digest.c_str(),
                live_digest.c_str(), equal ? "equal" : "DIFFERENT");
  }
  return all_equal ? 0 : 1;
}

// Swaps rebuilt views (from `replay rebuild`) into the live store; the server must be stopped.
int Swap(const std::string& data_dir, const std::string& from_dir,
         const std::vector<std::string>& names, bool all) {
  auto views = Choose(names, all);
  if (!views) return Report(views.error());
  if (from_dir.empty()) {
    return Report(portail::Error(portail::ErrorCode::kInvalid,
                                 "--from DIR names the rebuild to swap in (DIR/<view>)"));
  }
  if (!std::filesystem::exists(data_dir + "/log/CURRENT")) {
    return Report(portail::Error(portail::ErrorCode::kNotFound, "no event log in " + data_dir));
  }
  events::StoreOptions options;
  options.path = data_dir + "/log";
  options.projections = views->all;
  for (auto* view : views->chosen) {
    std::string name(view->name());
    options.replace_views.emplace_back(name, from_dir + "/" + name);
  }
  auto store = events::EventStore::Open(std::move(options));
  if (!store) {
    std::string hint = store.error().message.find("lock") != std::string::npos
                           ? " (is the server running? stop it first)"
                           : "";
    return Report(portail::Error(store.error().code, store.error().message + hint));
  }
  for (auto* view : views->chosen) {
    std::cout << view->name() << ": swapped in, digest "
              << events::ViewDigest(*(*store)->View(view->name())) << ", checkpoint "
              << (*store)->Checkpoint(view->name()).value_or(0) << "\n";
  }
  return 0;
}

int History(const std::string& data_dir, portail::replay::HistoryQuery query,
            const std::string& from, const std::string& to, const std::string& as_of,
            const std::string& format, bool include_sensitive) {
  int named = !query.account_id.empty() + !query.family_id.empty() + !query.member_id.empty() +
              !query.request_id.empty();
  if (named != 1) {
    return Report(portail::Error(
        portail::ErrorCode::kInvalid,
        "name exactly one of --account ID, --family ID, --child ID and --request ID"));
  }
  for (auto [text, target] : {std::pair{&from, &query.from_us}, std::pair{&to, &query.to_us},
                              std::pair{&as_of, &query.as_of_us}}) {
    if (text->empty()) continue;
    *target = portail::replay::ParseParisTime(*text);
    if (!*target) {
      return Report(portail::Error(portail::ErrorCode::kInvalid,
                                   "bad date " + *text + " (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"));
    }
  }
  query.include_sensitive = include_sensitive;
  if (include_sensitive) {
    // The use is logged; hashes of secrets are never shown, even then.
    const char* user = std::getenv("USER");
    std::cerr << "replay: --include-sensitive used by " << (user ? user : "unknown user") << " on "
              << data_dir << "\n";
  }
  auto store = OpenReadOnly(data_dir, {});
  if (!store) return Report(store.error());
  auto rows = portail::replay::History(**store, query);
  if (!rows) return Report(rows.error());
  if (format == "jsonl") {
    std::cout << portail::replay::FormatJsonLines(*rows);
  } else if (format == "csv") {
    std::cout << portail::replay::FormatCsv(*rows);
  } else {
    std::cout << portail::replay::FormatTable(*rows);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "replay: read a portail data directory (read-only, safe beside a running server).\n"
      "Views: " +
      projections::ViewNamesText() + "."};
  cli.require_subcommand(1);
  std::string data_dir = "data";
  std::string out_dir;
  std::vector<std::string> names;
  bool all = false;

  CLI::App* verify = cli.add_subcommand(
      "verify", "Walk the whole log: positions, hash chain, stream index, views' checkpoints");
  verify->add_option("--data", data_dir, "Data directory of the server")->capture_default_str();

  CLI::App* stats = cli.add_subcommand(
      "stats", "Events by type and by month (UTC), streams, head position, size on disk");
  stats->add_option("--data", data_dir, "Data directory of the server")->capture_default_str();

  CLI::App* digest = cli.add_subcommand(
      "digest", "BLAKE2b digest of the live views' rows (the checkpoint left out)");
  digest->add_option("--data", data_dir, "Data directory of the server")->capture_default_str();
  digest->add_option("views", names, "Views to digest");
  digest->add_flag("--all", all, "Every view");

  CLI::App* rebuild = cli.add_subcommand(
      "rebuild",
      "Replay the whole log into fresh views beside the live ones and compare their digests "
      "(exit 1 when one differs). `replay swap` puts them in place once the server is stopped.");
  rebuild->add_option("--data", data_dir, "Data directory of the server")->capture_default_str();
  rebuild->add_option("--out", out_dir,
                      "Where to write the rebuilt views, one directory each (default: "
                      "DIR/rebuild-<UTC timestamp>)");
  rebuild->add_option("views", names, "Views to rebuild (one scan of the log feeds them all)");
  rebuild->add_flag("--all", all, "Every view");
  uint64_t memory_mb = 512;
  rebuild
      ->add_option("--memory-mb", memory_mb,
                   "Memory for each view's rows before they are written out early (MiB; 0: "
                   "after every event, slow)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20));

  std::string swap_from;
  CLI::App* swap = cli.add_subcommand(
      "swap",
      "Replace live views by the ones `rebuild` wrote (DIR/<view>), each in one synced batch; "
      "they then catch up with events appended since. The server must be stopped.");
  swap->add_option("--data", data_dir, "Data directory of the server")->capture_default_str();
  swap->add_option("--from", swap_from, "The rebuild's directory (rebuild's --out)")->required();
  swap->add_option("views", names, "Views to swap in");
  swap->add_flag("--all", all, "Every view");

  portail::replay::HistoryQuery query;
  std::string from, to, as_of, format = "table";
  bool include_sensitive = false;
  CLI::App* history = cli.add_subcommand(
      "history",
      "Every event about one account, family, family member or request, oldest first, with Paris "
      "times");
  history->add_option("--data", data_dir, "Data directory of the server")->capture_default_str();
  history->add_option("--account", query.account_id, "An account id");
  history->add_option("--family", query.family_id,
                      "A family id: its family stream and its family file (dossier)");
  history->add_option("--child,--member", query.member_id,
                      "A member of a family file (child, guardian, authorised adult): its "
                      "events, the changes proposed for it and their outcome, its enrolments "
                      "and its days in the planning");
  history->add_option("--request", query.request_id,
                      "A reservation or absence request: its submission, every day's state "
                      "change (requests, decisions, promotions, cancellations) and its messages");
  history->add_option("--from", from, "Recorded at or after (Paris time: YYYY-MM-DD[THH:MM])");
  history->add_option("--to", to, "Recorded at or before (Paris time)");
  history->add_option("--as-of", as_of, "Only what was known at this time (Paris time)");
  history->add_option("--format", format, "table, jsonl or csv")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "jsonl", "csv"}));
  history->add_flag("--include-sensitive", include_sensitive,
                    "Show the values of sensitive sections (health, bank); the use is logged");

  CLI11_PARSE(cli, argc, argv);
  int code = 0;
  if (history->parsed()) {
    code = History(data_dir, query, from, to, as_of, format, include_sensitive);
  }
  if (verify->parsed()) code = Verify(data_dir);
  if (stats->parsed()) code = Stats(data_dir);
  if (digest->parsed()) code = Digest(data_dir, names, all);
  if (rebuild->parsed()) code = Rebuild(data_dir, out_dir, names, all, memory_mb);
  if (swap->parsed()) code = Swap(data_dir, swap_from, names, all);
  std::error_code ignored;  // a scratch directory left behind harms nothing
  std::filesystem::remove_all(SecondaryPath(), ignored);
  return code;
}
