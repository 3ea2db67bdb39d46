// `replay_town DIR [ACCOUNTS] [VIEW...]`: writes a small town's log and the Dupont family's file
// for the CLI test, with the server's views inline (or only the named ones).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "events/event_store.h"
#include "tests/replay/town.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: replay_town DIR [ACCOUNTS] [VIEW...]\n");
    return 2;
  }
  int accounts = argc > 2 ? std::atoi(argv[2]) : 40;
  std::filesystem::create_directories(argv[1]);
  portail::testing::ServerViews views;
  portail::events::StoreOptions options;
  options.path = std::string(argv[1]) + "/log";
  for (auto* view : views.All()) {
    bool named = argc <= 3;
    for (int i = 3; i < argc; ++i) named = named || view->name() == argv[i];
    if (named) options.projections.push_back(view);
  }
  auto store = portail::events::EventStore::Open(options);
  if (!store) {
    std::fprintf(stderr, "replay_town: %s\n", store.error().message.c_str());
    return 1;
  }
  if (!portail::testing::PopulateTown(**store, /*families=*/12, accounts)) {
    std::fprintf(stderr, "replay_town: an append failed\n");
    return 1;
  }
  if (!portail::testing::PopulateDossier(**store)) {
    std::fprintf(stderr, "replay_town: a family file command failed\n");
    return 1;
  }
  std::printf("%llu events\n", static_cast<unsigned long long>((*store)->HeadPosition()));
  return 0;
}
