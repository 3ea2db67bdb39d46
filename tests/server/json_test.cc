// The strict JSON body reader, the error model's status mapping, and route matching.
#include "server/json.h"

#include <gtest/gtest.h>

#include "server/router.h"

namespace portail::server {
namespace {

Request JsonRequest(std::string body) {
  Request r;
  r.method = "POST";
  r.headers.emplace_back("content-type", "application/json; charset=utf-8");
  r.body = std::move(body);
  return r;
}

TEST(JsonInputTest, MalformedJsonIsInvalid) {
  auto input = JsonInput::FromRequest(JsonRequest("{\"a\": "));
  ASSERT_FALSE(input.has_value());
  EXPECT_EQ(input.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(HttpStatus(input.error().code), 400);
}

TEST(JsonInputTest, NonObjectBodyIsInvalid) {
  auto input = JsonInput::FromRequest(JsonRequest("[1, 2]"));
  ASSERT_FALSE(input.has_value());
  EXPECT_EQ(input.error().code, ErrorCode::kInvalid);
}

TEST(JsonInputTest, BodyThatIsNotJsonIsUnsupportedMediaType) {
  Request r = JsonRequest("{}");
  r.headers.clear();
  r.headers.emplace_back("content-type", "text/plain");
  auto input = JsonInput::FromRequest(r);
  ASSERT_FALSE(input.has_value());
  EXPECT_EQ(input.error().code, ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(HttpStatus(input.error().code), 415);
}

TEST(JsonInputTest, EveryProblemIsReportedByField) {
  auto input =
      JsonInput::FromText(R"({"name": 12, "age": "x", "extra": true, "short": "", "ok": "fine"})");
  ASSERT_TRUE(input.has_value());
  input->String("name", 1, 10);
  input->OptionalInt("age", 0, 150);
  input->String("short", 1, 10);
  input->String("missing", 1, 10);
  EXPECT_EQ(input->String("ok", 1, 10), "fine");
  auto status = input->Finish();
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalid);
  std::map<std::string, std::string> fields;
  for (const auto& f : status.error().fields) fields[f.field] = f.message;
  EXPECT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields["name"], "must be a string");
  EXPECT_EQ(fields["age"], "must be an integer");
  EXPECT_EQ(fields["extra"], "is not a known field");
  EXPECT_EQ(fields["short"], "must be between 1 and 10 characters");
  EXPECT_EQ(fields["missing"], "is required");
}

TEST(JsonInputTest, LengthsCountCharactersNotBytes) {
  auto input = JsonInput::FromText(R"({"name": "Élodie"})");
  ASSERT_TRUE(input.has_value());
  EXPECT_EQ(input->String("name", 6, 6), "Élodie");
  EXPECT_TRUE(input->Finish().has_value());
}

TEST(JsonInputTest, ErrorResponseCarriesCodeMessageAndFields) {
  Error error(ErrorCode::kInvalid, "bad", {{"email", "is not an e-mail address"}});
  Response r = ErrorResponse(error);
  EXPECT_EQ(r.status, 400);
  auto body = Json::parse(r.body);
  EXPECT_EQ(body["error"]["code"], "invalid");
  EXPECT_EQ(body["error"]["message"], "bad");
  EXPECT_EQ(body["error"]["fields"][0]["field"], "email");
}

TEST(RouterTest, PatternParametersAreExtracted) {
  Router router;
  router.Add("GET", "/api/v1/families/{id}/children/{child}", [](Request&, Reply) {});
  Request r;
  r.method = "GET";
  r.path = "/api/v1/families/F1/children/C2";
  auto match = router.Find(r);
  ASSERT_NE(match.handler, nullptr);
  EXPECT_EQ(r.Param("id"), "F1");
  EXPECT_EQ(r.Param("child"), "C2");
  EXPECT_EQ(r.route, "/api/v1/families/{id}/children/{child}");
}

TEST(RouterTest, EmptySegmentDoesNotMatchAParameter) {
  Router router;
  router.Add("GET", "/api/v1/families/{id}", [](Request&, Reply) {});
  Request r;
  r.method = "GET";
  r.path = "/api/v1/families/";
  EXPECT_EQ(router.Find(r).status, 404);
}

TEST(RouterTest, KnownPathWithOtherMethodIs405WithAllow) {
  Router router;
  router.Add("GET", "/x", [](Request&, Reply) {});
  router.Add("PUT", "/x", [](Request&, Reply) {});
  Request r;
  r.method = "POST";
  r.path = "/x";
  auto match = router.Find(r);
  EXPECT_EQ(match.handler, nullptr);
  EXPECT_EQ(match.status, 405);
  EXPECT_EQ(match.allow, "GET, PUT");
}

}  // namespace
}  // namespace portail::server
