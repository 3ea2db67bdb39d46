// The family file API: the file with its pending changes, agents' direct edits, families'
// proposals, the agents' decisions and queue, the history, and photos. The file is rendered once
// per family and variant (full or redacted) and served from memory while its version is unchanged.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "server/app.h"
#include "server/auth.h"
#include "server/family_access.h"
#include "server/router.h"
#include "server/sharded_cache.h"

namespace portail::server {

class DossierRoutes {
 public:
  // `services` and `auth` must outlive this object; photos are kept in `photo_dir`.
  DossierRoutes(const Services& services, Authenticator* auth, std::string photo_dir);

  void Add(Router& router);

 private:
  // A family file as rendered at `version`, found current when the log's head was
  // `checked_head`.
  struct RenderedDossier {
    uint64_t version = 0;
    std::string body;
    std::atomic<uint64_t> checked_head{0};
  };

  void GetDossier(Request& request, Reply reply);
  void GetBank(Request& request, Reply reply);
  void GetHistory(Request& request, Reply reply);
  void AddMember(Request& request, Reply reply);
  void UpdateSection(Request& request, Reply reply);
  void RemoveMember(Request& request, Reply reply);
  void UploadPhoto(Request& request, Reply reply);
  void GetPhoto(Request& request, Reply reply);
  void Approve(Request& request, Reply reply);
  void Reject(Request& request, Reply reply);
  void Withdraw(Request& request, Reply reply);
  void Queue(Request& request, Reply reply);

  // ReadAccess / WriteAccess (family_access.h), answering the error on `reply`.
  std::optional<Allowed> Reader(Request& request, Reply& reply);
  std::optional<Allowed> Writer(Request& request, Reply& reply);
  // Sets a section's values: directly for agents, as a proposal for families.
  void ChangeSection(Allowed& allowed, Request& request, Reply reply, std::string member_id,
                     std::string section, std::map<std::string, std::string> fields);
  // Approves or rejects the change of the path.
  void DecideChange(Request& request, Reply reply, bool approve);
  const events::ViewReader& dossiers() const;

  Services services_;
  Authenticator* auth_;
  std::string photo_dir_;
  // Keyed "d/<family>" (IBANs masked) or "r/<family>" (redacted).
  ShardedCache<RenderedDossier> rendered_;
};

}  // namespace portail::server
