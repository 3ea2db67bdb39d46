// Activities, enrolments, reservation and absence requests and the town's answers.
#pragma once

#include "server/app.h"
#include "server/auth.h"
#include "server/router.h"

namespace portail::server {

class PlanningRoutes {
 public:
  // `services` and `auth` must outlive this object.
  PlanningRoutes(const Services& services, Authenticator* auth)
      : services_(services), auth_(auth) {}

  void Add(Router& router);

 private:
  void CreateActivity(Request& request, Reply reply);
  void RedefineActivity(Request& request, Reply reply);
  void DefineActivity(Request& request, Reply reply, bool create);
  void Enrol(Request& request, Reply reply);
  void ChangeEnrolment(Request& request, Reply reply);
  void Submit(Request& request, Reply reply);
  void Cancel(Request& request, Reply reply);
  void DecideDays(Request& request, Reply reply);

  Services services_;
  Authenticator* auth_;
};

}  // namespace portail::server
