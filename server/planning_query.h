// The planning as families and agents read it: GET
// /api/v1/families/{family_id}/planning.
#pragma once

#include "server/app.h"
#include "server/auth.h"
#include "server/router.h"

namespace portail::server {

class PlanningQuery {
public:
  // `services` and `auth` must outlive this object.
  PlanningQuery(const Services &services, Authenticator *auth)
      : services_(services), auth_(auth) {}

  void Add(Router &router);

private:
  Services services_;
  Authenticator *auth_;
};

} // namespace portail::server
