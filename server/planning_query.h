// The planning as families and agents read it: GET /api/v1/families/{family_id}/planning.
// Answers are rendered once and cached per family and normalised query while the family's and
// the activities' versions are unchanged and no deadline in the answer has passed.
#pragma once

#include <memory>

#include "server/app.h"
#include "server/auth.h"
#include "server/router.h"
#include "server/sharded_cache.h"

namespace portail::server {

class PlanningQuery {
 public:
  // `services` and `auth` must outlive this object.
  PlanningQuery(const Services& services, Authenticator* auth);
  PlanningQuery(const PlanningQuery&) = delete;
  PlanningQuery& operator=(const PlanningQuery&) = delete;
  ~PlanningQuery();

  void Add(Router& router);

 private:
  struct Rendered;
  void GetPlanning(Request& request, Reply reply);

  Services services_;
  Authenticator* auth_;
  std::unique_ptr<ShardedCache<Rendered>> cache_;  // answers by family and normalised query
};

}  // namespace portail::server
