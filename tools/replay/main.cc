// `replay`: the operator's and auditor's tool over a data directory. For now: `verify`.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "events/event_store.h"
#include "projections/event_counts.h"

namespace {

// Opens DIR/log beside a possibly running server, as a RocksDB secondary instance.
portail::Result<std::unique_ptr<portail::events::EventStore>> OpenReadOnly(
    const std::string& data_dir, std::vector<portail::events::Projection*> projections) {
  std::string log_dir = data_dir + "/log";
  if (!std::filesystem::exists(log_dir + "/CURRENT")) {
    return portail::Fail(portail::ErrorCode::kNotFound, "no event log in " + data_dir);
  }
  portail::events::StoreOptions options;
  options.path = log_dir;
  options.read_only = true;
  options.secondary_path =
      (std::filesystem::temp_directory_path() / ("portail-replay-" + std::to_string(getpid())))
          .string();
  options.projections = std::move(projections);
  return portail::events::EventStore::Open(std::move(options));
}

int Verify(const std::string& data_dir) {
  portail::projections::EventCounts counts;
  auto store = OpenReadOnly(data_dir, {&counts});
  if (!store) {
    std::cerr << "replay: " << store.error().message << "\n";
    return 2;
  }
  auto report = (*store)->Verify();
  if (!report) {
    std::cerr << "replay: " << report.error().message << "\n";
    return 2;
  }
  if (!report->ok()) {
    std::cout << "FAILED: " << report->problem;
    if (report->first_bad_position)
      std::cout << " (first bad position " << *report->first_bad_position << ")";
    std::cout << "\n";
    return 1;
  }
  std::cout << "ok: " << report->events_checked << " events, chain and stream index verified\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"replay: verify a portail event log (read-only, safe beside a running server)"};
  cli.require_subcommand(1);
  std::string data_dir = "data";
  CLI::App* verify = cli.add_subcommand(
      "verify", "Walk the whole log: positions, hash chain, stream index, views' checkpoints");
  verify->add_option("--data", data_dir, "Data directory of the server")->capture_default_str();
  CLI11_PARSE(cli, argc, argv);
  if (verify->parsed()) return Verify(data_dir);
  return 0;
}
