// The family file's field catalogue: which sections each kind of member has, which fields each
// section holds, their types and limits, and which sections are sensitive. Dossier events carry
// field values as canonical text; this catalogue says how to check and show them. Header-only so
// the deciders, the views, the server and the replay tool share one description.
#pragma once

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace portail::schema::dossier {

// Kinds of members, as named on the wire.
enum class Kind { kGuardian, kChild, kAuthorisedAdult };

inline constexpr std::array<std::string_view, 3> kKindNames = {"guardian", "child",
                                                               "authorised_adult"};

inline std::string_view KindName(Kind kind) { return kKindNames[static_cast<int>(kind)]; }

inline bool ParseKind(std::string_view name, Kind* kind) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) {
      *kind = static_cast<Kind>(i);
      return true;
    }
  }
  return false;
}

enum class Type {
  kText,       // one line, at most `max` characters
  kMultiline,  // several lines, at most `max` characters
  kBirthDate,  // YYYY-MM-DD, a real date, not in the future
  kPhone,      // French national or international (+...) number
  kEmail,
  kPostalCode,  // French, 5 digits
  kIban,        // ISO 13616, mod-97 checked; shown masked outside the bank edit view
  kBic,
  kEnum,  // one of `choices`
  kSet,   // several of `choices` (a JSON array)
  kBool,
  kInteger,  // within [min, max]
  kDecimal,  // within [min, max], at most 2 decimals
  kDigits,   // digits only, `min`..`max` of them
  kColour,   // #rrggbb
  kPhoto,    // a stored photo's name: sha-256 hex + ".jpg" or ".png"
};

struct Field {
  std::string_view name;
  Type type;
  bool required = false;  // must have a value when the member is created, and cannot be cleared
  double min = 0;
  double max = 0;  // kText/kMultiline: length; kInteger/kDecimal: value; kDigits: length
  std::span<const std::string_view> choices = {};
};

struct Section {
  Kind kind;
  std::string_view name;
  bool sensitive;  // health and bank data: subscribed accounts and agents only (RGPD)
  std::span<const Field> fields;
};

// Enumerations. Diets record needs, never religious labels (CNIL's rule for school files).
inline constexpr std::array<std::string_view, 2> kCivilities = {"M", "Mme"};
inline constexpr std::array<std::string_view, 2> kSexes = {"F", "M"};
inline constexpr std::array<std::string_view, 9> kClasses = {"TPS", "PS",  "MS",  "GS", "CP",
                                                             "CE1", "CE2", "CM1", "CM2"};
inline constexpr std::array<std::string_view, 6> kDiets = {
    "sans_porc", "sans_viande", "sans_poisson", "sans_gluten", "sans_lactose", "sans_oeuf"};

inline constexpr Field kGuardianBasic[] = {
    {"civility", Type::kEnum, false, 0, 0, kCivilities},
    {"last_name", Type::kText, true, 0, 80},
    {"first_name", Type::kText, true, 0, 80},
    {"birth_date", Type::kBirthDate},
    {"mobile_phone", Type::kPhone},
    {"home_phone", Type::kPhone},
    {"work_phone", Type::kPhone},
    {"email", Type::kEmail},
    {"profession", Type::kText, false, 0, 100},
    {"employer", Type::kText, false, 0, 100},
};
inline constexpr Field kGuardianAddress[] = {
    {"street", Type::kText, false, 0, 120}, {"street_2", Type::kText, false, 0, 120},
    {"postal_code", Type::kPostalCode},     {"city", Type::kText, false, 0, 80},
    {"country", Type::kText, false, 0, 60},
};
inline constexpr Field kGuardianFiscal[] = {
    {"reference_income", Type::kInteger, false, 0, 10000000},
    {"tax_shares", Type::kDecimal, false, 0.5, 20},
    {"caf_number", Type::kDigits, false, 1, 10},
    {"quotient_familial", Type::kInteger, false, 0, 100000},
};
inline constexpr Field kGuardianBank[] = {
    {"account_holder", Type::kText, false, 0, 100},
    {"iban", Type::kIban},
    {"bic", Type::kBic},
};
inline constexpr Field kChildGeneral[] = {
    {"last_name", Type::kText, true, 0, 80},
    {"first_name", Type::kText, true, 0, 80},
    {"birth_date", Type::kBirthDate},
    {"sex", Type::kEnum, false, 0, 0, kSexes},
    {"school", Type::kText, false, 0, 100},
    {"class", Type::kEnum, false, 0, 0, kClasses},
    {"colour", Type::kColour},
};
inline constexpr Field kChildAuthorisations[] = {
    {"image_rights", Type::kBool},   {"may_leave_alone", Type::kBool},
    {"emergency_care", Type::kBool}, {"school_transport", Type::kBool},
    {"outings", Type::kBool},
};
inline constexpr Field kChildHealth[] = {
    {"allergies", Type::kMultiline, false, 0, 500},
    {"diet", Type::kSet, false, 0, 0, kDiets},
    {"pai", Type::kBool},
    {"pai_needs", Type::kMultiline, false, 0, 500},
    {"doctor_name", Type::kText, false, 0, 100},
    {"doctor_phone", Type::kPhone},
    {"vaccinations_up_to_date", Type::kBool},
};
inline constexpr Field kChildPhoto[] = {
    {"photo", Type::kPhoto},
};
inline constexpr Field kAdultContact[] = {
    {"last_name", Type::kText, true, 0, 80}, {"first_name", Type::kText, true, 0, 80},
    {"link", Type::kText, true, 0, 60},      {"mobile_phone", Type::kPhone, true},
    {"other_phone", Type::kPhone},
};

inline constexpr Section kSections[] = {
    {Kind::kGuardian, "basic", false, kGuardianBasic},
    {Kind::kGuardian, "address", false, kGuardianAddress},
    {Kind::kGuardian, "fiscal", false, kGuardianFiscal},
    {Kind::kGuardian, "bank", true, kGuardianBank},
    {Kind::kChild, "general", false, kChildGeneral},
    {Kind::kChild, "authorisations", false, kChildAuthorisations},
    {Kind::kChild, "health", true, kChildHealth},
    {Kind::kChild, "photo", false, kChildPhoto},
    {Kind::kAuthorisedAdult, "contact", false, kAdultContact},
};

// The section `name` of a member of `kind`, or nullptr.
inline const Section* FindSection(Kind kind, std::string_view name) {
  for (const auto& section : kSections) {
    if (section.kind == kind && section.name == name) return &section;
  }
  return nullptr;
}

inline const Field* FindField(const Section& section, std::string_view name) {
  for (const auto& field : section.fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

// The section that names a member (its names live there).
inline std::string_view NameSection(Kind kind) {
  switch (kind) {
    case Kind::kGuardian:
      return "basic";
    case Kind::kChild:
      return "general";
    case Kind::kAuthorisedAdult:
      return "contact";
  }
  return "";
}

// Whether a section named `name` (of any kind) holds sensitive data.
inline bool IsSensitiveSection(std::string_view name) {
  for (const auto& section : kSections) {
    if (section.name == name) return section.sensitive;
  }
  return false;
}

// A compact IBAN in groups of 4 separated by spaces ("FR76 3000 6000 0112 3456 7890 189").
inline std::string FormatIban(std::string_view compact) {
  std::string out;
  for (size_t i = 0; i < compact.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ' ';
    out += compact[i];
  }
  return out;
}

// An IBAN as shown outside the guardian's bank edit view: the country and check digits and the
// last four characters, the rest as '*', grouped like FormatIban ("FR76 **** ... ***1 234").
inline std::string MaskIban(std::string_view compact) {
  std::string masked(compact);
  for (size_t i = 4; i + 4 < masked.size(); ++i) masked[i] = '*';
  return FormatIban(masked);
}

// Colours given to children in the planning, in order of arrival.
inline constexpr std::array<std::string_view, 8> kChildColours = {
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324"};

}  // namespace portail::schema::dossier
