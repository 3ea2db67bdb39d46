// The family file (dossier) aggregate: members with their sections, and the changes families
// propose and agents decide. One stream per family ("dossier-<family id>"); its version is the
// file's ETag.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "commands/command.h"
#include "schemas/dossier_catalogue.h"

namespace portail::commands {

std::string DossierStream(std::string_view family_id);

// Field name -> canonical value, per section name.
using FieldMap = std::map<std::string, std::string>;
using SectionMap = std::map<std::string, FieldMap>;

struct DossierMember {
  schema::dossier::Kind kind = schema::dossier::Kind::kChild;
  std::string child_id;  // authorised adults
  bool removed = false;
  SectionMap sections;
};

enum class ChangeStatus { kPending, kApproved, kRejected, kWithdrawn, kSuperseded };
std::string_view ChangeStatusName(ChangeStatus status);

struct DossierChange {
  schema::ChangeKind kind = schema::ChangeKind::Update;
  std::string member_id;
  schema::dossier::Kind member_kind = schema::dossier::Kind::kChild;
  std::string child_id;
  SectionMap sections;  // the values still proposed (superseded fields are dropped)
  std::string proposed_by;
  ChangeStatus status = ChangeStatus::kPending;
};

class DossierState : public AggregateState {
 public:
  std::unique_ptr<AggregateState> Clone() const override {
    return std::make_unique<DossierState>(*this);
  }
  std::map<std::string, DossierMember> members;
  std::map<std::string, DossierChange> changes;

  // A live (not removed) member, or nullptr.
  const DossierMember* Member(std::string_view id) const;

 protected:
  void Evolve(const schema::EventRecord& event) override;
};

// Registers the factory of "dossier" streams.
void RegisterDossierAggregates(AggregateRegistry& registry);

// What every dossier command shares: the family, the acting person's name (recorded in the
// events), and an optional If-Match version (a stale one is kPreconditionFailed).
class DossierCommand : public Command {
 public:
  std::string family_id;
  std::string by_name;
  std::optional<uint64_t> if_match;
  std::vector<std::string> Streams() const override;

 protected:
  // The dossier's state after the family and If-Match checks, or the error.
  Result<const DossierState*> Checked(const States& states) const;
};

// The reply of a dossier command: the file's version after it (the new ETag), and the id of the
// member or change it created.
struct DossierReply {
  uint64_t version = 0;
  std::string id;
};

// An agent adds a member with its values, current at once. A child gets a planning colour if
// none is given.
class AddMember : public DossierCommand {
 public:
  std::string member_id;
  schema::dossier::Kind kind = schema::dossier::Kind::kChild;
  std::string child_id;
  SectionMap sections;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// An agent sets values of one section directly (no validation step).
class UpdateSection : public DossierCommand {
 public:
  std::string member_id;
  std::string section;
  FieldMap fields;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// An agent removes a member (a child's authorised adults go with it); pending changes of removed
// members are rejected.
class RemoveMember : public DossierCommand {
 public:
  std::string member_id;
  std::string reason;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// A family proposes a change to one section of a member, or a new child / authorised adult.
// Fields equal to the current value with nothing pending are dropped; a change that changes
// nothing is kInvalid. Older pending proposals of the same fields are superseded.
class ProposeChange : public DossierCommand {
 public:
  std::string change_id;
  schema::ChangeKind kind = schema::ChangeKind::Update;
  std::string member_id;  // Update: the member; AddMember: the new member's id
  schema::dossier::Kind member_kind = schema::dossier::Kind::kChild;  // AddMember
  std::string child_id;                                               // AddMember of an adult
  SectionMap sections;                                                // Update: exactly one section
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// An agent approves (values become current) or rejects (with a reason) a pending change.
class DecideChange : public DossierCommand {
 public:
  std::string change_id;
  bool approve = true;
  std::string reason;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// A family withdraws its pending change.
class WithdrawChange : public DossierCommand {
 public:
  std::string change_id;
  Result<Decision> Decide(const States& states, Micros now) const override;
};

// Checks `fields` of `section` for a member of `kind` against the catalogue and normalises
// them in place; `creating` also requires the section's required fields. Errors name the field
// as "section.field". `today_days`: Paris's day (days since 1970-01-01) for birth dates.
Status CheckSection(schema::dossier::Kind kind, std::string_view section, FieldMap& fields,
                    bool creating, int today_days);

}  // namespace portail::commands
