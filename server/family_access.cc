// Access to a family's data (see family_access.h).
#include "server/family_access.h"

#include "projections/families_view.h"

namespace portail::server {

Result<Allowed> ReadAccess(Authenticator& auth, const Request& request,
                           const events::EventStore& store) {
  auto caller = auth.Authenticate(request);
  if (!caller) return std::unexpected(caller.error());
  std::string_view family_id = request.Param("family_id");
  Access access = caller->is_agent()     ? Access::kAgent
                  : caller->is_auditor() ? Access::kAuditor
                                         : Access::kFamily;
  // A subscription proves the family exists (families are never deleted): only staff, who may
  // name any id, cost a look at the families view.
  bool visible =
      access == Access::kFamily
          ? caller->SubscribedTo(family_id)
          : projections::FamiliesView::Family(*store.View("families"), family_id).has_value();
  if (!visible) return Fail(ErrorCode::kNotFound, "no such family");
  return Allowed{std::move(*caller), access};
}

Result<Allowed> WriteAccess(Authenticator& auth, const Request& request,
                            const events::EventStore& store) {
  auto allowed = ReadAccess(auth, request, store);
  if (allowed && allowed->access == Access::kAuditor) {
    return Fail(ErrorCode::kForbidden, "auditors can read but not change anything");
  }
  return allowed;
}

Result<Caller> StaffAccess(Authenticator& auth, const Request& request, bool auditors_too) {
  auto caller = auth.Authenticate(request);
  if (!caller) return std::unexpected(caller.error());
  if (!caller->is_agent() && !(auditors_too && caller->is_auditor())) {
    return Fail(ErrorCode::kForbidden, "this is reserved to the town's agents");
  }
  return caller;
}

std::string ActorOf(const Caller& caller) { return "account-" + caller.account.id; }

std::string NameOf(const Caller& caller) {
  return caller.account.first_name + " " + caller.account.last_name;
}

}  // namespace portail::server
