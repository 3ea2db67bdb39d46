// The family file API (see dossier_routes.h and docs/openapi.yaml).
#include "server/dossier_routes.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands/dossier.h"
#include "events/log.h"
#include "projections/dossier_view.h"
#include "projections/families_view.h"
#include "server/handler_support.h"
#include "server/image_check.h"
#include "server/json.h"
#include "server/security.h"

namespace portail::server {
namespace {

namespace dossier = schema::dossier;

constexpr size_t kMaxPhotoBytes = 2 << 20;
constexpr size_t kDefaultQueueLimit = 50;
constexpr size_t kMaxQueueLimit = 200;

std::string ETagOf(uint64_t version) { return "\"" + std::to_string(version) + "\""; }

// The version named by an If-Match header: nullopt when absent or "*"; an error when malformed.
Result<std::optional<uint64_t>> IfMatch(const Request& request) {
  auto header = request.Header("if-match");
  if (!header || *header == "*") return std::nullopt;
  std::string_view value = *header;
  if (value.starts_with("W/")) value.remove_prefix(2);
  if (value.size() >= 3 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
    uint64_t version = 0;
    bool digits = !value.empty() && value.size() <= 18;
    for (char c : value) {
      digits = digits && c >= '0' && c <= '9';
      version = version * 10 + static_cast<uint64_t>(c - '0');
    }
    if (digits) return std::optional<uint64_t>(version);
  }
  return Fail(ErrorCode::kInvalid,
              "If-Match must be the ETag of the family file as received, e.g. \"12\"");
}

// A field's JSON value as canonical text for the deciders; records a problem otherwise.
std::optional<std::string> ValueText(const Json& value) {
  if (value.is_null()) return std::string();
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return std::string(value.get<bool>() ? "true" : "false");
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) {
    std::ostringstream out;
    out.precision(15);
    out << value.get<double>();
    return out.str();
  }
  if (value.is_array()) {
    std::string joined;
    for (const auto& item : value) {
      if (!item.is_string() || item.get<std::string>().find(',') != std::string::npos) {
        return std::nullopt;
      }
      joined += (joined.empty() ? "" : ",") + item.get<std::string>();
    }
    return joined;
  }
  return std::nullopt;
}

// A JSON object of field values as a FieldMap; problems are named "<prefix><field>".
Result<commands::FieldMap> FieldsOf(const Json& object, const std::string& prefix) {
  commands::FieldMap fields;
  std::vector<FieldError> problems;
  if (!object.is_object()) {
    return std::unexpected(Error(ErrorCode::kInvalid, prefix + " must be an object of fields",
                                 {{prefix.empty() ? "body" : prefix, "must be an object"}}));
  }
  for (const auto& [name, value] : object.items()) {
    auto text = ValueText(value);
    if (!text) {
      problems.push_back(
          {prefix + name, "must be a string, a number, true/false, null, or a list of choices"});
      continue;
    }
    if (text->size() > 4096) {
      problems.push_back({prefix + name, "is too long"});
      continue;
    }
    fields[name] = std::move(*text);
  }
  if (problems.empty()) return fields;
  std::string message = problems.front().field + " " + problems.front().message;
  return std::unexpected(Error(ErrorCode::kInvalid, std::move(message), std::move(problems)));
}

// The answer to a dossier command: 200 for an agent's direct act, 202 for a family's proposal.
std::function<Response(commands::CommandOutcome&)> DossierAnswer(int status, const char* id_name,
                                                                 Json extra = Json::object()) {
  return [status, id_name, extra](commands::CommandOutcome& outcome) {
    const auto* reply = std::any_cast<commands::DossierReply>(&outcome.reply);
    Json body = extra;
    body["version"] = reply ? reply->version : 0;
    if (reply) body[id_name] = reply->id;
    Response response = JsonResponse(status, body);
    if (reply) response.headers.emplace_back("ETag", ETagOf(reply->version));
    return response;
  };
}

// Writes `bytes` to `path` durably (temp file, fsync, rename, fsync of the directory).
Status WriteFileDurably(const std::filesystem::path& path, std::string_view bytes) {
  std::string temp = path.string() + ".tmp-" + RandomId();
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kIoError, "cannot store the photo");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = done == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return Fail(ErrorCode::kIoError, "cannot store the photo");
  }
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace

DossierRoutes::DossierRoutes(const Services& services, Authenticator* auth, std::string photo_dir)
    : services_(services), auth_(auth), photo_dir_(std::move(photo_dir)) {}

const events::ViewReader& DossierRoutes::dossiers() const {
  return *services_.store->View("dossier");
}

void DossierRoutes::Add(Router& router) {
  auto bind = [this](void (DossierRoutes::*method)(Request&, Reply)) {
    return [this, method](Request& request, Reply reply) {
      (this->*method)(request, std::move(reply));
    };
  };
  const std::string family = "/api/v1/families/{family_id}";
  router.Add("GET", family + "/dossier", bind(&DossierRoutes::GetDossier));
  router.Add("GET", family + "/dossier/history", bind(&DossierRoutes::GetHistory));
  router.Add("POST", family + "/members", bind(&DossierRoutes::AddMember));
  router.Add("DELETE", family + "/members/{member_id}", bind(&DossierRoutes::RemoveMember));
  router.Add("PATCH", family + "/members/{member_id}/sections/{section}",
             bind(&DossierRoutes::UpdateSection));
  router.Add("GET", family + "/members/{member_id}/bank", bind(&DossierRoutes::GetBank));
  router.Add("PUT", family + "/members/{member_id}/photo", bind(&DossierRoutes::UploadPhoto));
  router.Add("GET", family + "/photos/{photo}", bind(&DossierRoutes::GetPhoto));
  router.Add("POST", family + "/changes/{change_id}/approve", bind(&DossierRoutes::Approve));
  router.Add("POST", family + "/changes/{change_id}/reject", bind(&DossierRoutes::Reject));
  router.Add("POST", family + "/changes/{change_id}/withdraw", bind(&DossierRoutes::Withdraw));
  router.Add("GET", "/api/v1/agent/changes", bind(&DossierRoutes::Queue));
}

std::optional<Allowed> DossierRoutes::Reader(Request& request, Reply& reply) {
  auto allowed = ReadAccess(*auth_, request, *services_.store);
  if (!allowed) {
    reply(ErrorResponse(allowed.error()));
    return std::nullopt;
  }
  return std::move(*allowed);
}

std::optional<Allowed> DossierRoutes::Writer(Request& request, Reply& reply) {
  auto allowed = WriteAccess(*auth_, request, *services_.store);
  if (!allowed) {
    reply(ErrorResponse(allowed.error()));
    return std::nullopt;
  }
  return std::move(*allowed);
}

void DossierRoutes::GetDossier(Request& request, Reply reply) {
  auto allowed = Reader(request, reply);
  if (!allowed) return;
  bool redacted = allowed->access == Access::kAuditor;
  std::string family(request.Param("family_id"));
  const events::ViewReader& rows = dossiers();
  std::string key = (redacted ? "r/" : "d/") + family;
  // A rendering is current while the file's version is the same (every change to the file makes
  // a new one), and that is known without reading the view while the log's head has not moved.
  // The head first, then the rows: rows read after it are at least as new, so a rendering is
  // never marked current for a head beyond what it shows.
  uint64_t head = services_.store->HeadPosition();
  std::shared_ptr<RenderedDossier> rendered = rendered_.Find(key);
  uint64_t version = 0;
  if (rendered != nullptr && rendered->checked_head.load(std::memory_order_acquire) == head) {
    version = rendered->version;
  } else {
    version = projections::DossierView::Version(rows, family);
    if (rendered != nullptr && rendered->version == version) {
      rendered->checked_head.store(head, std::memory_order_release);
    } else {
      rendered = nullptr;
    }
  }
  Response response;
  if (auto none_match = request.Header("if-none-match");
      none_match && *none_match == ETagOf(version)) {
    response.headers.emplace_back("ETag", ETagOf(version));
    response.status = 304;
    response.content_type.clear();
    return reply(std::move(response));
  }
  if (rendered == nullptr) {
    rendered = std::make_shared<RenderedDossier>();
    if (auto doc = projections::DossierView::Document(rows, family, redacted)) {
      rendered->version = doc->version;
      rendered->body = std::move(doc->body);
      rendered->checked_head.store(head);
      rendered_.Put(key, rendered);
    } else {
      // A family without members yet: an empty file at version 0 (not kept).
      Json empty{{"family_id", family},
                 {"version", 0},
                 {"members", Json::array()},
                 {"pending_changes", Json::array()}};
      if (redacted) empty["redacted"] = true;
      rendered->body = empty.dump();
    }
  }
  response.headers.emplace_back("ETag", ETagOf(rendered->version));
  response.body = rendered->body;
  reply(std::move(response));
}

void DossierRoutes::GetBank(Request& request, Reply reply) {
  auto allowed = Reader(request, reply);
  if (!allowed) return;
  if (allowed->access == Access::kAuditor) {
    return reply(ErrorResponse(ErrorCode::kForbidden,
                               "bank details are shown only to the family and the town's agents"));
  }
  auto bank = projections::DossierView::BankSection(dossiers(), request.Param("family_id"),
                                                    request.Param("member_id"));
  if (!bank) return reply(ErrorResponse(ErrorCode::kNotFound, "no such guardian in this family"));
  Response response;
  response.body = std::move(*bank);
  reply(std::move(response));
}

void DossierRoutes::GetHistory(Request& request, Reply reply) {
  auto allowed = Reader(request, reply);
  if (!allowed) return;
  std::string member;
  if (auto found = request.query.find("member"); found != request.query.end()) {
    member = found->second;
  }
  Response response;
  response.body = "{\"history\":" +
                  projections::DossierView::History(dossiers(), request.Param("family_id"), member,
                                                    allowed->access == Access::kAuditor) +
                  "}";
  reply(std::move(response));
}

void DossierRoutes::AddMember(Request& request, Reply reply) {
  auto allowed = Writer(request, reply);
  if (!allowed) return;
  auto if_match = IfMatch(request);
  if (!if_match) return reply(ErrorResponse(if_match.error()));
  auto body = JsonObjectBody(request);
  if (!body) return reply(ErrorResponse(body.error()));
  std::vector<FieldError> problems;
  dossier::Kind kind = dossier::Kind::kChild;
  std::string child_id;
  commands::SectionMap sections;
  for (const auto& [name, value] : body->items()) {
    if (name == "kind") {
      if (!value.is_string() || !dossier::ParseKind(value.get<std::string>(), &kind)) {
        problems.push_back({"kind", "must be guardian, child or authorised_adult"});
      }
    } else if (name == "child_id") {
      if (!value.is_string()) {
        problems.push_back({"child_id", "must be a string"});
      } else {
        child_id = value.get<std::string>();
      }
    } else if (name == "sections") {
      if (!value.is_object()) {
        problems.push_back({"sections", "must be an object of sections"});
        continue;
      }
      for (const auto& [section, fields] : value.items()) {
        auto parsed = FieldsOf(fields, section + ".");
        if (!parsed) {
          for (auto& f : parsed.error().fields) problems.push_back(std::move(f));
        } else {
          sections[section] = std::move(*parsed);
        }
      }
    } else {
      problems.push_back({name, "is not a known field"});
    }
  }
  if (!body->contains("kind")) problems.push_back({"kind", "is required"});
  if (kind == dossier::Kind::kAuthorisedAdult && child_id.empty()) {
    problems.push_back({"child_id", "is required for an authorised adult"});
  }
  if (!problems.empty()) {
    std::string message = problems.front().field + " " + problems.front().message;
    return reply(ErrorResponse(Error(ErrorCode::kInvalid, message, std::move(problems))));
  }
  std::string family_id(request.Param("family_id"));
  if (allowed->access == Access::kAgent) {
    auto command = std::make_unique<commands::AddMember>();
    command->family_id = family_id;
    command->actor = ActorOf(allowed->caller);
    command->by_name = NameOf(allowed->caller);
    command->if_match = *if_match;
    command->member_id = RandomId();
    command->kind = kind;
    command->child_id = child_id;
    command->sections = std::move(sections);
    return ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                           DossierAnswer(201, "member_id"));
  }
  auto command = std::make_unique<commands::ProposeChange>();
  command->family_id = family_id;
  command->actor = ActorOf(allowed->caller);
  command->by_name = NameOf(allowed->caller);
  command->if_match = *if_match;
  command->change_id = RandomId();
  command->kind = schema::ChangeKind::AddMember;
  command->member_id = RandomId();
  command->member_kind = kind;
  command->child_id = child_id;
  command->sections = std::move(sections);
  std::string member_id = command->member_id;
  ExecuteAndReply(
      *services_.bus, std::move(command), std::move(reply),
      DossierAnswer(202, "change_id", Json{{"status", "pending"}, {"member_id", member_id}}));
}

void DossierRoutes::ChangeSection(Allowed& allowed, Request& request, Reply reply,
                                  std::string member_id, std::string section,
                                  std::map<std::string, std::string> fields) {
  auto if_match = IfMatch(request);
  if (!if_match) return reply(ErrorResponse(if_match.error()));
  std::string family_id(request.Param("family_id"));
  if (allowed.access == Access::kAgent) {
    auto command = std::make_unique<commands::UpdateSection>();
    command->family_id = family_id;
    command->actor = ActorOf(allowed.caller);
    command->by_name = NameOf(allowed.caller);
    command->if_match = *if_match;
    command->member_id = std::move(member_id);
    command->section = std::move(section);
    command->fields = std::move(fields);
    return ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                           DossierAnswer(200, "member_id"));
  }
  auto command = std::make_unique<commands::ProposeChange>();
  command->family_id = family_id;
  command->actor = ActorOf(allowed.caller);
  command->by_name = NameOf(allowed.caller);
  command->if_match = *if_match;
  command->change_id = RandomId();
  command->kind = schema::ChangeKind::Update;
  command->member_id = std::move(member_id);
  command->sections[section] = std::move(fields);
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  DossierAnswer(202, "change_id", Json{{"status", "pending"}}));
}

void DossierRoutes::UpdateSection(Request& request, Reply reply) {
  auto allowed = Writer(request, reply);
  if (!allowed) return;
  auto body = JsonObjectBody(request);
  if (!body) return reply(ErrorResponse(body.error()));
  std::string section(request.Param("section"));
  auto fields = FieldsOf(*body, section + ".");
  if (!fields) return reply(ErrorResponse(fields.error()));
  if (section == "photo") {
    return reply(ErrorResponse(ErrorCode::kInvalid, "photos are sent with PUT .../photo"));
  }
  ChangeSection(*allowed, request, std::move(reply), std::string(request.Param("member_id")),
                section, std::move(*fields));
}

void DossierRoutes::RemoveMember(Request& request, Reply reply) {
  auto allowed = Writer(request, reply);
  if (!allowed) return;
  if (allowed->access != Access::kAgent) {
    return reply(ErrorResponse(ErrorCode::kForbidden, "only the town's agents remove members"));
  }
  auto if_match = IfMatch(request);
  if (!if_match) return reply(ErrorResponse(if_match.error()));
  auto command = std::make_unique<commands::RemoveMember>();
  command->family_id = std::string(request.Param("family_id"));
  command->actor = ActorOf(allowed->caller);
  command->by_name = NameOf(allowed->caller);
  command->if_match = *if_match;
  command->member_id = std::string(request.Param("member_id"));
  if (auto reason = request.query.find("reason"); reason != request.query.end()) {
    command->reason = reason->second.substr(0, 500);
  }
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  DossierAnswer(200, "member_id"));
}

void DossierRoutes::UploadPhoto(Request& request, Reply reply) {
  auto allowed = Writer(request, reply);
  if (!allowed) return;
  auto type = request.Header("content-type");
  if (!type || !(type->starts_with("image/jpeg") || type->starts_with("image/png"))) {
    return reply(ErrorResponse(ErrorCode::kUnsupportedMediaType,
                               "send the photo as image/jpeg or image/png"));
  }
  auto image = SniffImage(request.body, kMaxPhotoBytes);
  if (!image) return reply(ErrorResponse(image.error()));
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(request.body.data()),
                     request.body.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
  std::string name = std::string(hex) + "." + ImageExtension(image->content_type);
  std::filesystem::path path = std::filesystem::path(photo_dir_) / name;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::filesystem::create_directories(photo_dir_, ec);
    if (auto ok = WriteFileDurably(path, request.body); !ok) {
      log::error("storing a photo failed in {}", photo_dir_);
      return reply(ErrorResponse(ok.error()));
    }
  }
  ChangeSection(*allowed, request, std::move(reply), std::string(request.Param("member_id")),
                "photo", {{"photo", name}});
}

void DossierRoutes::GetPhoto(Request& request, Reply reply) {
  auto allowed = Reader(request, reply);
  if (!allowed) return;
  std::string photo(request.Param("photo"));
  if (!projections::DossierView::HasPhoto(dossiers(), request.Param("family_id"), photo) ||
      photo.find('/') != std::string::npos || photo.starts_with(".")) {
    return reply(ErrorResponse(ErrorCode::kNotFound, "no such photo in this family file"));
  }
  std::ifstream in(std::filesystem::path(photo_dir_) / photo, std::ios::binary);
  if (!in) return reply(ErrorResponse(ErrorCode::kNotFound, "no such photo in this family file"));
  Response response;
  response.content_type = photo.ends_with(".png") ? "image/png" : "image/jpeg";
  response.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  reply(std::move(response));
}

void DossierRoutes::DecideChange(Request& request, Reply reply, bool approve) {
  auto allowed = Writer(request, reply);
  if (!allowed) return;
  if (allowed->access != Access::kAgent) {
    return reply(ErrorResponse(ErrorCode::kForbidden, "changes are decided by the town's agents"));
  }
  std::string reason;
  if (!approve || !request.body.empty()) {
    auto input = JsonInput::FromRequest(request);
    if (!input) return reply(ErrorResponse(input.error()));
    if (approve) {
      if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
    } else {
      reason = input->String("reason", 1, 500);
      if (auto ok = input->Finish(); !ok) return reply(ErrorResponse(ok.error()));
    }
  }
  auto command = std::make_unique<commands::DecideChange>();
  command->family_id = std::string(request.Param("family_id"));
  command->actor = ActorOf(allowed->caller);
  command->by_name = NameOf(allowed->caller);
  command->change_id = std::string(request.Param("change_id"));
  command->approve = approve;
  command->reason = std::move(reason);
  ExecuteAndReply(
      *services_.bus, std::move(command), std::move(reply),
      DossierAnswer(200, "change_id", Json{{"status", approve ? "approved" : "rejected"}}));
}

void DossierRoutes::Approve(Request& request, Reply reply) {
  DecideChange(request, std::move(reply), true);
}

void DossierRoutes::Reject(Request& request, Reply reply) {
  DecideChange(request, std::move(reply), false);
}

void DossierRoutes::Withdraw(Request& request, Reply reply) {
  auto allowed = Writer(request, reply);
  if (!allowed) return;
  if (allowed->access != Access::kFamily) {
    return reply(ErrorResponse(ErrorCode::kForbidden,
                               "a change is withdrawn by the family; agents reject it"));
  }
  auto command = std::make_unique<commands::WithdrawChange>();
  command->family_id = std::string(request.Param("family_id"));
  command->actor = ActorOf(allowed->caller);
  command->by_name = NameOf(allowed->caller);
  command->change_id = std::string(request.Param("change_id"));
  ExecuteAndReply(*services_.bus, std::move(command), std::move(reply),
                  DossierAnswer(200, "change_id", Json{{"status", "withdrawn"}}));
}

void DossierRoutes::Queue(Request& request, Reply reply) {
  auto caller = StaffAccess(*auth_, request);
  if (!caller) return reply(ErrorResponse(caller.error()));
  std::vector<FieldError> problems;
  std::string section;
  if (auto found = request.query.find("section"); found != request.query.end()) {
    section = found->second;
    bool known = false;
    for (const auto& s : dossier::kSections) known = known || s.name == section;
    if (!known) problems.push_back({"section", "is not a section of the family file"});
  }
  auto number = [&](const char* name, uint64_t fallback, uint64_t min, uint64_t max) {
    auto found = request.query.find(name);
    if (found == request.query.end()) return fallback;
    const std::string& text = found->second;
    bool ok = !text.empty() && text.size() <= 19 &&
              std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    uint64_t value = ok ? std::stoull(text) : 0;
    if (!ok || value < min || value > max) {
      problems.push_back(
          {name, "must be a number from " + std::to_string(min) + " to " + std::to_string(max)});
    }
    return value;
  };
  uint64_t after = number("after", 0, 0, UINT64_MAX >> 1);
  size_t limit = number("limit", kDefaultQueueLimit, 1, kMaxQueueLimit);
  if (!problems.empty()) {
    std::string message = problems.front().field + " " + problems.front().message;
    return reply(ErrorResponse(Error(ErrorCode::kInvalid, message, std::move(problems))));
  }
  auto changes = projections::DossierView::Queue(dossiers(), section, after, limit);
  Json out = Json::array();
  const auto& families = *services_.store->View("families");
  for (const auto& c : changes) {
    Json entry = Json::parse(c.json);
    auto family = projections::FamiliesView::Family(families, c.family_id);
    entry["family_name"] = family ? family->name : "";
    out.push_back(std::move(entry));
  }
  Json body{{"changes", std::move(out)}};
  body["next"] = changes.size() == limit ? Json(std::to_string(changes.back().position)) : Json();
  reply(JsonResponse(200, body));
}

}  // namespace portail::server
