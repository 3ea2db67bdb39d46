// "Mes demandes": the request list with unread counts, each request's history (opening it marks
// it read), messages between the town and the family, and the agents' queue of pending requests.
#pragma once

#include "server/app.h"
#include "server/auth.h"
#include "server/router.h"

namespace portail::server {

class RequestRoutes {
 public:
  // `services` and `auth` must outlive this object.
  RequestRoutes(const Services& services, Authenticator* auth) : services_(services), auth_(auth) {}

  void Add(Router& router);

 private:
  void List(Request& request, Reply reply);
  void ReadAll(Request& request, Reply reply);
  void History(Request& request, Reply reply);
  void PostMessage(Request& request, Reply reply);
  void Queue(Request& request, Reply reply);

  Services services_;
  Authenticator* auth_;
};

}  // namespace portail::server
