// Who may read or change a family's data: the one rule every family-scoped route applies.
#pragma once

#include "events/event_store.h"
#include "server/auth.h"

namespace portail::server {

enum class Access { kFamily, kAgent, kAuditor };

struct Allowed {
  Caller caller;
  Access access;
};

// The caller of `request` if it may read the family named by the path's {family_id}: agents,
// auditors, and family accounts subscribed to it. Errors: kUnauthenticated without a session;
// kNotFound for an unknown family or one the account is not subscribed to (a family it cannot
// see does not exist for it).
Result<Allowed> ReadAccess(Authenticator& auth, const Request& request,
                           const events::EventStore& store);
// As ReadAccess, for changes: auditors get kForbidden.
Result<Allowed> WriteAccess(Authenticator& auth, const Request& request,
                            const events::EventStore& store);
// The caller if it is an agent (with `auditors_too`, an auditor too); else kForbidden.
Result<Caller> StaffAccess(Authenticator& auth, const Request& request, bool auditors_too = false);

// The actor id and the display name recorded in events for `caller`.
std::string ActorOf(const Caller& caller);
std::string NameOf(const Caller& caller);

}  // namespace portail::server
