// The family file API: the file with its pending changes, agents' direct edits, families'
// proposals, the agents' decisions and queue, the history, and photos.
#pragma once

#include <optional>
#include <string>

#include "server/app.h"
#include "server/auth.h"
#include "server/router.h"

namespace portail::server {

class DossierRoutes {
 public:
  // `services` and `auth` must outlive this object; photos are kept in `photo_dir`.
  DossierRoutes(const Services& services, Authenticator* auth, std::string photo_dir);

  void Add(Router& router);

 private:
  // What the caller may do with a family's file.
  enum class Access { kFamily, kAgent, kAuditor };
  struct Allowed {
    Caller caller;
    Access access;
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

  // The caller if it may read the family of the path: agents, auditors and subscribed accounts;
  // others get 404 (a family they cannot see does not exist for them). Answers on failure.
  std::optional<Allowed> Reader(Request& request, Reply& reply);
  // As Reader, for writes: auditors get 403.
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
};

}  // namespace portail::server
