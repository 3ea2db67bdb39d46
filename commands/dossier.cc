// The family file's deciders: members, direct edits by agents, and proposals decided by agents.
#include "commands/dossier.h"

#include <algorithm>

#include "commands/accounts.h"
#include "commands/calendar.h"
#include "commands/field_checks.h"

namespace portail::commands {
namespace {

namespace dossier = schema::dossier;
using events::Str;

dossier::Kind KindOf(schema::MemberKind kind) { return static_cast<dossier::Kind>(kind); }
schema::MemberKind MemberKindOf(dossier::Kind kind) {
  return static_cast<schema::MemberKind>(kind);
}

FieldMap FieldsOf(const flatbuffers::Vector<flatbuffers::Offset<schema::FieldValue>>* fields) {
  FieldMap out;
  if (fields == nullptr) return out;
  for (const auto* f : *fields) out[Str(f->name())] = Str(f->value());
  return out;
}

std::vector<std::unique_ptr<schema::FieldValueT>> FieldValuesOf(const FieldMap& fields) {
  std::vector<std::unique_ptr<schema::FieldValueT>> out;
  for (const auto& [name, value] : fields) {
    auto f = std::make_unique<schema::FieldValueT>();
    f->name = name;
    f->value = value;
    out.push_back(std::move(f));
  }
  return out;
}

// Sets `fields` into `section`; an empty value clears the field.
void Merge(FieldMap& section, const FieldMap& fields) {
  for (const auto& [name, value] : fields) {
    if (value.empty()) {
      section.erase(name);
    } else {
      section[name] = value;
    }
  }
}

// Normalises one value of `field`; the error message says why it is wrong.
std::expected<std::string, std::string> CheckValue(const dossier::Field& field,
                                                   std::string_view value, int today_days) {
  using dossier::Type;
  switch (field.type) {
    case Type::kText:
      return checks::Text(value, static_cast<size_t>(field.max));
    case Type::kMultiline:
      return checks::MultilineText(value, static_cast<size_t>(field.max));
    case Type::kBirthDate:
      return checks::Date(value, today_days, /*allow_future=*/false);
    case Type::kPhone:
      return checks::Phone(value);
    case Type::kEmail:
      return checks::Email(value);
    case Type::kPostalCode:
      return checks::PostalCode(value);
    case Type::kIban:
      return checks::Iban(value);
    case Type::kBic:
      return checks::Bic(value);
    case Type::kEnum:
      return checks::OneOf(value, field.choices);
    case Type::kSet:
      return checks::SetOf(value, field.choices);
    case Type::kBool:
      return checks::Boolean(value);
    case Type::kInteger:
      return checks::Integer(value, static_cast<int64_t>(field.min),
                             static_cast<int64_t>(field.max));
    case Type::kDecimal:
      return checks::Decimal(value, field.min, field.max, 2);
    case Type::kDigits:
      return checks::Digits(value, static_cast<size_t>(field.min), static_cast<size_t>(field.max));
    case Type::kColour:
      return checks::Colour(value);
    case Type::kPhoto: {
      bool ok = value.size() == 68 && (value.ends_with(".jpg") || value.ends_with(".png")) &&
                std::all_of(value.begin(), value.begin() + 64, [](char c) {
                  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                });
      if (ok) return std::string(value);
      return std::unexpected("must be a photo uploaded with the photo endpoint");
    }
  }
  return std::unexpected("has an unknown type");
}

int TodayDays(Micros now) { return static_cast<int>(ParisDay(now).time_since_epoch().count()); }

std::string_view ChangeStatusWord(ChangeStatus status) {
  switch (status) {
    case ChangeStatus::kPending:
      return "pending";
    case ChangeStatus::kApproved:
      return "already approved";
    case ChangeStatus::kRejected:
      return "already rejected";
    case ChangeStatus::kWithdrawn:
      return "withdrawn";
    case ChangeStatus::kSuperseded:
      return "superseded by a newer change";
  }
  return "closed";
}

// Checks every section of a new member of `kind`; the name section must be there.
Status CheckNewMember(dossier::Kind kind, SectionMap& sections, int today_days) {
  std::vector<FieldError> problems;
  if (!sections.contains(std::string(dossier::NameSection(kind)))) {
    sections[std::string(dossier::NameSection(kind))];  // reports its required fields
  }
  for (auto& [name, fields] : sections) {
    auto checked = CheckSection(kind, name, fields, /*creating=*/true, today_days);
    if (!checked) {
      if (checked.error().fields.empty()) return checked;
      for (auto& f : checked.error().fields) problems.push_back(std::move(f));
    }
  }
  if (problems.empty()) return {};
  std::string message =
      "the member is not valid: " + problems.front().field + " " + problems.front().message;
  return std::unexpected(Error(ErrorCode::kInvalid, std::move(message), std::move(problems)));
}

// The first colour of the palette no live child uses (cycling when all are taken).
std::string NextColour(const DossierState& state) {
  std::vector<std::string> used;
  for (const auto& [id, m] : state.members) {
    if (m.kind != dossier::Kind::kChild || m.removed) continue;
    auto general = m.sections.find("general");
    if (general == m.sections.end()) continue;
    auto colour = general->second.find("colour");
    if (colour != general->second.end()) used.push_back(colour->second);
  }
  for (auto colour : dossier::kChildColours) {
    if (std::find(used.begin(), used.end(), colour) == used.end()) return std::string(colour);
  }
  return std::string(dossier::kChildColours[used.size() % dossier::kChildColours.size()]);
}

// The events that add a member with its sections (and a colour for a child).
void AppendMemberEvents(const DossierState& state, const std::string& family_id,
                        const std::string& member_id, dossier::Kind kind,
                        const std::string& child_id, SectionMap sections,
                        const std::string& change_id, const std::string& by_name,
                        std::vector<schema::PayloadUnion>& out) {
  schema::MemberAddedT added;
  added.family_id = family_id;
  added.member_id = member_id;
  added.kind = MemberKindOf(kind);
  added.child_id = child_id;
  added.change_id = change_id;
  added.by_name = by_name;
  out.push_back(MakePayload(std::move(added)));
  if (kind == dossier::Kind::kChild && sections["general"]["colour"].empty()) {
    sections["general"]["colour"] = NextColour(state);
  }
  for (auto& [section, fields] : sections) {
    std::erase_if(fields, [](const auto& f) { return f.second.empty(); });
    if (fields.empty()) continue;
    schema::SectionUpdatedT updated;
    updated.family_id = family_id;
    updated.member_id = member_id;
    updated.section = section;
    updated.fields = FieldValuesOf(fields);
    updated.change_id = change_id;
    updated.by_name = by_name;
    out.push_back(MakePayload(std::move(updated)));
  }
}

Decision DossierDecision(const std::string& family_id, std::vector<schema::PayloadUnion> events,
                         const DossierState& state, std::string id) {
  Decision decision;
  uint64_t version = state.version() + events.size();
  decision.appends.push_back({DossierStream(family_id), {}, std::move(events)});
  decision.reply = DossierReply{version, std::move(id)};
  return decision;
}

// Whether `member_id` names a live member of `kind`.
bool IsLive(const DossierState& state, std::string_view member_id, dossier::Kind kind) {
  const auto* m = state.Member(member_id);
  return m != nullptr && m->kind == kind;
}

}  // namespace

std::string DossierStream(std::string_view family_id) {
  return "dossier-" + std::string(family_id);
}

std::string_view ChangeStatusName(ChangeStatus status) {
  switch (status) {
    case ChangeStatus::kPending:
      return "pending";
    case ChangeStatus::kApproved:
      return "approved";
    case ChangeStatus::kRejected:
      return "rejected";
    case ChangeStatus::kWithdrawn:
      return "withdrawn";
    case ChangeStatus::kSuperseded:
      return "superseded";
  }
  return "pending";
}

const DossierMember* DossierState::Member(std::string_view id) const {
  auto found = members.find(std::string(id));
  if (found == members.end() || found->second.removed) return nullptr;
  return &found->second;
}

void DossierState::Evolve(const schema::EventRecord& event) {
  switch (event.payload_type()) {
    case schema::Payload::MemberAdded: {
      const auto* e = event.payload_as_MemberAdded();
      DossierMember& m = members[Str(e->member_id())];
      m.kind = KindOf(e->kind());
      m.child_id = Str(e->child_id());
      return;
    }
    case schema::Payload::SectionUpdated: {
      const auto* e = event.payload_as_SectionUpdated();
      Merge(members[Str(e->member_id())].sections[Str(e->section())], FieldsOf(e->fields()));
      return;
    }
    case schema::Payload::MemberRemoved:
      members[Str(event.payload_as_MemberRemoved()->member_id())].removed = true;
      return;
    case schema::Payload::ChangeProposed: {
      const auto* e = event.payload_as_ChangeProposed();
      DossierChange& c = changes[Str(e->change_id())];
      c.kind = e->kind();
      c.member_id = Str(e->member_id());
      c.member_kind = KindOf(e->member_kind());
      c.child_id = Str(e->child_id());
      c.proposed_by = Str(event.actor());
      if (e->sections() != nullptr) {
        for (const auto* s : *e->sections()) c.sections[Str(s->section())] = FieldsOf(s->fields());
      }
      if (e->superseded() != nullptr) {
        for (const auto* ref : *e->superseded()) {
          auto old = changes.find(Str(ref->change_id()));
          if (old == changes.end()) continue;
          auto section = old->second.sections.find(Str(ref->section()));
          if (section == old->second.sections.end()) continue;
          section->second.erase(Str(ref->field()));
          if (section->second.empty()) old->second.sections.erase(section);
        }
      }
      return;
    }
    case schema::Payload::ChangeApproved:
      changes[Str(event.payload_as_ChangeApproved()->change_id())].status = ChangeStatus::kApproved;
      return;
    case schema::Payload::ChangeRejected:
      changes[Str(event.payload_as_ChangeRejected()->change_id())].status = ChangeStatus::kRejected;
      return;
    case schema::Payload::ChangeWithdrawn:
      changes[Str(event.payload_as_ChangeWithdrawn()->change_id())].status =
          ChangeStatus::kWithdrawn;
      return;
    case schema::Payload::ChangeSuperseded:
      changes[Str(event.payload_as_ChangeSuperseded()->change_id())].status =
          ChangeStatus::kSuperseded;
      return;
    default:
      return;
  }
}

void RegisterDossierAggregates(AggregateRegistry& registry) {
  registry.Register("dossier", [] { return std::make_unique<DossierState>(); });
}

Status CheckSection(dossier::Kind kind, std::string_view section_name, FieldMap& fields,
                    bool creating, int today_days) {
  const dossier::Section* section = dossier::FindSection(kind, section_name);
  if (section == nullptr) {
    std::string message = "a " + std::string(dossier::KindName(kind)) + " has no section \"" +
                          std::string(section_name) + "\"";
    return std::unexpected(
        Error(ErrorCode::kInvalid, message, {{std::string(section_name), "unknown section"}}));
  }
  std::vector<FieldError> problems;
  std::string prefix = std::string(section_name) + ".";
  for (auto& [name, value] : fields) {
    const dossier::Field* field = dossier::FindField(*section, name);
    if (field == nullptr) {
      problems.push_back({prefix + name, "is not a known field"});
      continue;
    }
    if (value.empty()) {
      if (field->required) problems.push_back({prefix + name, "is required"});
      continue;
    }
    auto checked = CheckValue(*field, value, today_days);
    if (!checked) {
      problems.push_back({prefix + name, checked.error()});
    } else {
      value = std::move(*checked);
    }
  }
  if (creating) {
    for (const auto& field : section->fields) {
      if (field.required && !fields.contains(std::string(field.name))) {
        problems.push_back({prefix + std::string(field.name), "is required"});
      }
    }
  }
  if (problems.empty()) return {};
  std::string message = problems.front().field + " " + problems.front().message;
  if (problems.size() > 1) message += " (and " + std::to_string(problems.size() - 1) + " more)";
  return std::unexpected(Error(ErrorCode::kInvalid, std::move(message), std::move(problems)));
}

std::vector<std::string> DossierCommand::Streams() const {
  return {FamilyStream(family_id), DossierStream(family_id)};
}

Result<const DossierState*> DossierCommand::Checked(const States& states) const {
  if (!states.As<FamilyState>(FamilyStream(family_id))->exists) {
    return Fail(ErrorCode::kNotFound, "no such family");
  }
  const auto* state = states.As<DossierState>(DossierStream(family_id));
  if (if_match && *if_match != state->version()) {
    return Fail(ErrorCode::kPreconditionFailed,
                "the family file changed since you read it (your version " +
                    std::to_string(*if_match) + ", now " + std::to_string(state->version()) +
                    "): reload it and try again");
  }
  return state;
}

Result<Decision> AddMember::Decide(const States& states, Micros now) const {
  auto state = Checked(states);
  if (!state) return std::unexpected(state.error());
  if ((*state)->members.contains(member_id)) {
    return Fail(ErrorCode::kConflict, "member id already in use; retry");
  }
  if (kind == dossier::Kind::kAuthorisedAdult &&
      !IsLive(**state, child_id, dossier::Kind::kChild)) {
    return std::unexpected(Error(ErrorCode::kInvalid, "child_id must name a child of this family",
                                 {{"child_id", "is not a child of this family"}}));
  }
  SectionMap checked = sections;
  if (auto ok = CheckNewMember(kind, checked, TodayDays(now)); !ok) {
    return std::unexpected(ok.error());
  }
  std::vector<schema::PayloadUnion> events;
  AppendMemberEvents(**state, family_id, member_id, kind,
                     kind == dossier::Kind::kAuthorisedAdult ? child_id : "", std::move(checked),
                     "", by_name, events);
  return DossierDecision(family_id, std::move(events), **state, member_id);
}

Result<Decision> UpdateSection::Decide(const States& states, Micros now) const {
  auto state = Checked(states);
  if (!state) return std::unexpected(state.error());
  const DossierMember* member = (*state)->Member(member_id);
  if (member == nullptr) return Fail(ErrorCode::kNotFound, "no such member in this family");
  FieldMap checked = fields;
  if (auto ok = CheckSection(member->kind, section, checked, false, TodayDays(now)); !ok) {
    return std::unexpected(ok.error());
  }
  if (checked.empty()) {
    return std::unexpected(
        Error(ErrorCode::kInvalid, "no field to change", {{section, "has no field to change"}}));
  }
  schema::SectionUpdatedT updated;
  updated.family_id = family_id;
  updated.member_id = member_id;
  updated.section = section;
  updated.fields = FieldValuesOf(checked);
  updated.by_name = by_name;
  std::vector<schema::PayloadUnion> events;
  events.push_back(MakePayload(std::move(updated)));
  return DossierDecision(family_id, std::move(events), **state, member_id);
}

Result<Decision> RemoveMember::Decide(const States& states, Micros) const {
  auto state = Checked(states);
  if (!state) return std::unexpected(state.error());
  const DossierState& s = **state;
  if (s.Member(member_id) == nullptr) {
    return Fail(ErrorCode::kNotFound, "no such member in this family");
  }
  std::vector<std::string> removed = {member_id};
  for (const auto& [id, m] : s.members) {
    if (!m.removed && m.kind == dossier::Kind::kAuthorisedAdult && m.child_id == member_id) {
      removed.push_back(id);
    }
  }
  std::vector<schema::PayloadUnion> events;
  for (const auto& id : removed) {
    schema::MemberRemovedT e;
    e.family_id = family_id;
    e.member_id = id;
    e.reason = reason;
    e.by_name = by_name;
    events.push_back(MakePayload(std::move(e)));
  }
  for (const auto& [change_id, change] : s.changes) {
    bool about_removed =
        std::find(removed.begin(), removed.end(), change.member_id) != removed.end() ||
        std::find(removed.begin(), removed.end(), change.child_id) != removed.end();
    if (change.status != ChangeStatus::kPending || !about_removed) continue;
    schema::ChangeRejectedT rejected;
    rejected.family_id = family_id;
    rejected.change_id = change_id;
    rejected.reason = "the member was removed from the family file";
    rejected.by_name = by_name;
    events.push_back(MakePayload(std::move(rejected)));
  }
  return DossierDecision(family_id, std::move(events), s, member_id);
}

Result<Decision> ProposeChange::Decide(const States& states, Micros now) const {
  auto state = Checked(states);
  if (!state) return std::unexpected(state.error());
  const DossierState& s = **state;
  if (s.changes.contains(change_id)) {
    return Fail(ErrorCode::kConflict, "change id already in use; retry");
  }
  schema::ChangeProposedT proposed;
  proposed.family_id = family_id;
  proposed.change_id = change_id;
  proposed.kind = kind;
  proposed.member_id = member_id;
  proposed.by_name = by_name;
  SectionMap checked = sections;
  std::vector<schema::PayloadUnion> events;
  if (kind == schema::ChangeKind::AddMember) {
    if (member_kind == dossier::Kind::kGuardian) {
      return std::unexpected(Error(ErrorCode::kForbidden,
                                   "a family can propose a new child or authorised adult; the "
                                   "town adds guardians",
                                   {{"kind", "must be child or authorised_adult"}}));
    }
    if (s.members.contains(member_id)) {
      return Fail(ErrorCode::kConflict, "member id already in use; retry");
    }
    if (member_kind == dossier::Kind::kAuthorisedAdult &&
        !IsLive(s, child_id, dossier::Kind::kChild)) {
      return std::unexpected(Error(ErrorCode::kInvalid, "child_id must name a child of this family",
                                   {{"child_id", "is not a child of this family"}}));
    }
    if (auto ok = CheckNewMember(member_kind, checked, TodayDays(now)); !ok) {
      return std::unexpected(ok.error());
    }
    proposed.member_kind = MemberKindOf(member_kind);
    proposed.child_id = member_kind == dossier::Kind::kAuthorisedAdult ? child_id : "";
  } else {
    const DossierMember* member = s.Member(member_id);
    if (member == nullptr) return Fail(ErrorCode::kNotFound, "no such member in this family");
    if (checked.size() != 1) return Fail(ErrorCode::kInvalid, "a change is to one section");
    auto& [section, fields] = *checked.begin();
    if (auto ok = CheckSection(member->kind, section, fields, false, TodayDays(now)); !ok) {
      return std::unexpected(ok.error());
    }
    proposed.member_kind = MemberKindOf(member->kind);
    // Older pending proposals of these fields.
    std::map<std::string, size_t> remaining;  // change id -> fields left pending
    for (const auto& [id, c] : s.changes) {
      if (c.status != ChangeStatus::kPending || c.kind != schema::ChangeKind::Update ||
          c.member_id != member_id) {
        continue;
      }
      auto old = c.sections.find(section);
      if (old == c.sections.end()) continue;
      for (const auto& [name, value] : old->second) {
        if (!fields.contains(name)) continue;
        auto ref = std::make_unique<schema::FieldRefT>();
        ref->change_id = id;
        ref->section = section;
        ref->field = name;
        proposed.superseded.push_back(std::move(ref));
      }
      size_t fields_left = 0;
      for (const auto& [sname, sfields] : c.sections) {
        for (const auto& [name, value] : sfields) {
          fields_left += (sname != section || !fields.contains(name)) ? 1 : 0;
        }
      }
      remaining[id] = fields_left;
    }
    // Drop values equal to the current ones when nothing else is pending for them.
    auto current = member->sections.find(section);
    std::erase_if(fields, [&](const auto& f) {
      std::string now_value;
      if (current != member->sections.end()) {
        auto found = current->second.find(f.first);
        if (found != current->second.end()) now_value = found->second;
      }
      bool pending = std::any_of(proposed.superseded.begin(), proposed.superseded.end(),
                                 [&](const auto& ref) { return ref->field == f.first; });
      return f.second == now_value && !pending;
    });
    if (fields.empty()) {
      return std::unexpected(Error(ErrorCode::kInvalid,
                                   "nothing to change: the values are the current ones",
                                   {{section, "has no changed field"}}));
    }
    for (const auto& [id, left] : remaining) {
      if (left != 0) continue;
      schema::ChangeSupersededT superseded;
      superseded.family_id = family_id;
      superseded.change_id = id;
      superseded.by_change_id = change_id;
      events.push_back(MakePayload(std::move(superseded)));
    }
  }
  for (auto& [section, fields] : checked) {
    auto values = std::make_unique<schema::SectionValuesT>();
    values->section = section;
    values->fields = FieldValuesOf(fields);
    proposed.sections.push_back(std::move(values));
  }
  events.insert(events.begin(), MakePayload(std::move(proposed)));
  return DossierDecision(family_id, std::move(events), s, change_id);
}

Result<Decision> DecideChange::Decide(const States& states, Micros now) const {
  auto state = Checked(states);
  if (!state) return std::unexpected(state.error());
  const DossierState& s = **state;
  auto found = s.changes.find(change_id);
  if (found == s.changes.end()) return Fail(ErrorCode::kNotFound, "no such change in this family");
  const DossierChange& change = found->second;
  if (change.status != ChangeStatus::kPending) {
    return Fail(ErrorCode::kConflict,
                "this change is " + std::string(ChangeStatusWord(change.status)));
  }
  std::vector<schema::PayloadUnion> events;
  if (!approve) {
    schema::ChangeRejectedT rejected;
    rejected.family_id = family_id;
    rejected.change_id = change_id;
    rejected.reason = reason;
    rejected.by_name = by_name;
    events.push_back(MakePayload(std::move(rejected)));
    return DossierDecision(family_id, std::move(events), s, change_id);
  }
  schema::ChangeApprovedT approved;
  approved.family_id = family_id;
  approved.change_id = change_id;
  approved.by_name = by_name;
  events.push_back(MakePayload(std::move(approved)));
  if (change.kind == schema::ChangeKind::AddMember) {
    if (change.member_kind == dossier::Kind::kAuthorisedAdult &&
        !IsLive(s, change.child_id, dossier::Kind::kChild)) {
      return Fail(ErrorCode::kConflict, "the child of this authorised adult was removed");
    }
    AppendMemberEvents(s, family_id, change.member_id, change.member_kind, change.child_id,
                       change.sections, change_id, by_name, events);
  } else {
    if (s.Member(change.member_id) == nullptr) {
      return Fail(ErrorCode::kConflict, "the member of this change was removed");
    }
    for (const auto& [section, fields] : change.sections) {
      schema::SectionUpdatedT updated;
      updated.family_id = family_id;
      updated.member_id = change.member_id;
      updated.section = section;
      updated.fields = FieldValuesOf(fields);
      updated.change_id = change_id;
      updated.by_name = by_name;
      events.push_back(MakePayload(std::move(updated)));
    }
  }
  return DossierDecision(family_id, std::move(events), s, change_id);
}

Result<Decision> WithdrawChange::Decide(const States& states, Micros) const {
  auto state = Checked(states);
  if (!state) return std::unexpected(state.error());
  const DossierState& s = **state;
  auto found = s.changes.find(change_id);
  if (found == s.changes.end()) return Fail(ErrorCode::kNotFound, "no such change in this family");
  if (found->second.status != ChangeStatus::kPending) {
    return Fail(ErrorCode::kConflict,
                "this change is " + std::string(ChangeStatusWord(found->second.status)));
  }
  schema::ChangeWithdrawnT withdrawn;
  withdrawn.family_id = family_id;
  withdrawn.change_id = change_id;
  withdrawn.by_name = by_name;
  std::vector<schema::PayloadUnion> events;
  events.push_back(MakePayload(std::move(withdrawn)));
  return DossierDecision(family_id, std::move(events), s, change_id);
}

}  // namespace portail::commands
