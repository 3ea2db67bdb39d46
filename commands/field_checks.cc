// Validators and normalisers for the fields of a family file: plain text in, plain text out.
#include "commands/field_checks.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace portail::commands::checks {
namespace {

std::unexpected<std::string> Refuse(std::string message) {
  return std::unexpected<std::string>(std::move(message));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsLetter(char c) { return IsUpper(c) || IsLower(c); }
bool IsAlnum(char c) { return IsDigit(c) || IsLetter(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
char ToUpper(char c) { return IsLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

bool AllDigits(std::string_view s) { return std::all_of(s.begin(), s.end(), IsDigit); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The code point starting at s[*i], advancing *i past it; nullopt for an invalid UTF-8 sequence
// (bad lead or continuation byte, overlong form, surrogate, beyond U+10FFFF).
std::optional<char32_t> NextCodePoint(std::string_view s, std::size_t* i) {
  const auto lead = static_cast<unsigned char>(s[*i]);
  std::size_t length;
  char32_t cp;
  char32_t min;
  if (lead < 0x80) {
    ++*i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    cp = lead & 0x1F;
    min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    cp = lead & 0x0F;
    min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    cp = lead & 0x07;
    min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (s.size() - *i < length) return std::nullopt;
  for (std::size_t k = 1; k < length; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  *i += length;
  return cp;
}

bool IsValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (!NextCodePoint(s, &i)) return false;
  }
  return true;
}

std::string FormatNumber(double value) {
  std::array<char, 64> buffer;
  const auto [end, ec] =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
  return ec == std::errc() ? std::string(buffer.data(), end) : std::to_string(value);
}

std::string JoinAllowed(std::span<const std::string_view> allowed) {
  std::string out;
  for (std::string_view value : allowed) {
    if (!out.empty()) out += ", ";
    out += value;
  }
  return out;
}

// "0612345678" -> "06 12 34 56 78".
std::string FormatFrenchNumber(std::string_view ten_digits) {
  std::string out;
  for (std::size_t i = 0; i < ten_digits.size(); ++i) {
    if (i > 0 && i % 2 == 0) out += ' ';
    out += ten_digits[i];
  }
  return out;
}

CheckResult CheckText(std::string_view text, std::size_t max_chars, bool multiline) {
  std::string normalised;
  normalised.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (multiline && text[i] == '\r') {
      normalised += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      normalised += text[i];
    }
  }
  const std::string_view trimmed = Trim(normalised);
  std::size_t count = 0;
  for (std::size_t i = 0; i < trimmed.size();) {
    const std::optional<char32_t> cp = NextCodePoint(trimmed, &i);
    if (!cp) return Refuse("must be valid UTF-8 text");
    if (*cp == U'\n' || *cp == 0x2028 || *cp == 0x2029) {
      if (!multiline) return Refuse("must be on a single line");
      if (*cp != U'\n') return Refuse("must not contain control characters");
    } else if (*cp < 0x20 || (*cp >= 0x7F && *cp <= 0x9F)) {
      return Refuse("must not contain control characters");
    }
    ++count;
  }
  if (count > max_chars) {
    return Refuse("must be at most " + std::to_string(max_chars) + " characters long");
  }
  return std::string(trimmed);
}

// Exact IBAN lengths of the countries whose IBANs we expect to meet.
constexpr std::array<std::pair<std::string_view, std::size_t>, 13> kIbanLengths = {{
    {"FR", 27},
    {"MC", 27},
    {"DE", 22},
    {"BE", 16},
    {"ES", 24},
    {"IT", 27},
    {"LU", 20},
    {"CH", 21},
    {"GB", 22},
    {"PT", 25},
    {"NL", 18},
    {"AT", 20},
    {"IE", 22},
}};

}  // namespace

CheckResult Phone(std::string_view text) {
  text = Trim(text);
  constexpr std::string_view kExpected =
      "must be a French phone number such as 06 12 34 56 78, or an international number starting "
      "with + and its country code";
  if (text.empty()) return Refuse(std::string(kExpected));
  const bool plus = text.front() == '+';
  if (plus) text.remove_prefix(1);
  std::string digits;
  for (char c : text) {
    if (IsDigit(c)) {
      digits += c;
    } else if (c != ' ' && c != '.' && c != '-') {
      return Refuse(std::string(kExpected));
    }
  }
  if (digits.empty()) return Refuse(std::string(kExpected));

  std::optional<std::string> french_subscriber;  // the 9 digits after +33, if international French
  if (plus && digits.starts_with("33")) {
    french_subscriber = digits.substr(2);
  } else if (!plus && digits.starts_with("0033")) {
    french_subscriber = digits.substr(4);
  } else if (!plus && digits.starts_with("00")) {
    return Refuse("must start with + for an international number, such as +32 2 123 45 67");
  }
  if (french_subscriber) {
    if (french_subscriber->size() != 9 || (*french_subscriber)[0] == '0') {
      return Refuse("must have 9 digits after +33, such as +33 6 12 34 56 78");
    }
    return FormatFrenchNumber("0" + *french_subscriber);
  }
  if (plus) {
    if (digits[0] == '0') return Refuse("must have a country code after +, such as +32");
    if (digits.size() < 8 || digits.size() > 15) {
      return Refuse("must have 8 to 15 digits after + for an international number");
    }
    return "+" + digits;
  }
  if (digits.size() != 10) return Refuse("must have 10 digits, such as 06 12 34 56 78");
  if (digits[0] != '0' || digits[1] == '0') {
    return Refuse("must start with 0 then a digit from 1 to 9, such as 06 12 34 56 78");
  }
  return FormatFrenchNumber(digits);
}

CheckResult Email(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return Refuse("must be an e-mail address such as name@example.fr");
  if (text.size() > 254) return Refuse("must be at most 254 characters long");
  const std::size_t at = text.find('@');
  if (at == std::string_view::npos || text.find('@', at + 1) != std::string_view::npos) {
    return Refuse("must contain exactly one @, as in name@example.fr");
  }
  const std::string_view local = text.substr(0, at);
  const std::string_view domain = text.substr(at + 1);
  if (local.empty()) return Refuse("must have a name before the @, as in name@example.fr");
  if (local.size() > 64) return Refuse("must have at most 64 characters before the @");
  for (char c : local) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7F) {
      return Refuse("must not contain spaces or control characters before the @");
    }
  }
  if (!IsValidUtf8(local)) return Refuse("must be valid UTF-8 text");
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return Refuse("must not start or end with a dot, or have two dots in a row, before the @");
  }

  std::string lower_domain;
  lower_domain.reserve(domain.size());
  std::vector<std::string_view> labels;
  for (std::size_t start = 0;;) {
    const std::size_t dot = domain.find('.', start);
    labels.push_back(domain.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (labels.size() < 2) {
    return Refuse("must have a domain with a dot after the @, as in name@example.fr");
  }
  for (std::string_view label : labels) {
    if (label.empty() || label.size() > 63 ||
        !std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; })) {
      return Refuse("must have a valid domain after the @, as in name@example.fr");
    }
    if (label.front() == '-' || label.back() == '-') {
      return Refuse("must not have a domain part that starts or ends with '-'");
    }
  }
  const std::string_view tld = labels.back();
  if (tld.size() < 2 || !std::all_of(tld.begin(), tld.end(), IsLetter)) {
    return Refuse("must end with a domain such as .fr or .com");
  }
  for (char c : domain) lower_domain += ToLower(c);
  return std::string(local) + "@" + lower_domain;
}

CheckResult PostalCode(std::string_view text) {
  text = Trim(text);
  if (text.size() != 5 || !AllDigits(text)) return Refuse("must have 5 digits, such as 75001");
  const int department = (text[0] - '0') * 10 + (text[1] - '0');
  if (department == 0 || department == 96 || department == 99) {
    return Refuse("must start with a French department number, such as 75 or 974");
  }
  return std::string(text);
}

CheckResult Iban(std::string_view text) {
  std::string iban;
  iban.reserve(text.size());
  for (char c : text) {
    if (c != ' ') iban += ToUpper(c);
  }
  if (iban.size() < 4 || !IsUpper(iban[0]) || !IsUpper(iban[1]) || !IsDigit(iban[2]) ||
      !IsDigit(iban[3])) {
    return Refuse("must start with 2 country letters and 2 check digits, such as FR76");
  }
  if (!std::all_of(iban.begin(), iban.end(), IsAlnum)) {
    return Refuse("must contain only letters, digits and spaces");
  }
  const std::string_view country = std::string_view(iban).substr(0, 2);
  const auto known = std::find_if(kIbanLengths.begin(), kIbanLengths.end(),
                                  [&](const auto& entry) { return entry.first == country; });
  if (known != kIbanLengths.end()) {
    if (iban.size() != known->second) {
      return Refuse("must have " + std::to_string(known->second) + " characters for an IBAN from " +
                    std::string(country) + " (it has " + std::to_string(iban.size()) + ")");
    }
  } else if (iban.size() < 15 || iban.size() > 34) {
    return Refuse("must have between 15 and 34 characters");
  }
  // ISO 13616: move the first 4 characters to the end, read letters as 10..35, and the whole
  // number modulo 97 must be 1; the remainder is carried digit by digit.
  int remainder = 0;
  for (std::size_t k = 0; k < iban.size(); ++k) {
    const char c = iban[(k + 4) % iban.size()];
    if (IsDigit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else {
      remainder = (remainder * 100 + (c - 'A' + 10)) % 97;
    }
  }
  if (remainder != 1) {
    return Refuse("does not match its check digits; please check it for a typing error");
  }
  return iban;
}

CheckResult Bic(std::string_view text) {
  text = Trim(text);
  std::string bic;
  for (char c : text) bic += ToUpper(c);
  if (bic.size() != 8 && bic.size() != 11) return Refuse("must have 8 or 11 characters");
  const std::string_view view = bic;
  const auto all = [](std::string_view s, bool (*predicate)(char)) {
    return std::all_of(s.begin(), s.end(), predicate);
  };
  if (!all(view.substr(0, 4), IsUpper)) return Refuse("must start with 4 letters for the bank");
  if (!all(view.substr(4, 2), IsUpper)) {
    return Refuse("must have 2 country letters after the bank code, such as FR");
  }
  if (!all(view.substr(6), IsAlnum)) return Refuse("must contain only letters and digits");
  return bic;
}

std::optional<int> ParseIsoDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto number = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    const std::string_view part = text.substr(pos, len);
    if (!AllDigits(part)) return std::nullopt;
    int value = 0;
    for (char c : part) value = value * 10 + (c - '0');
    return value;
  };
  const std::optional<int> y = number(0, 4);
  const std::optional<int> m = number(5, 2);
  const std::optional<int> d = number(8, 2);
  if (!y || !m || !d) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{*y},
                                         std::chrono::month{static_cast<unsigned>(*m)},
                                         std::chrono::day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  return static_cast<int>(std::chrono::sys_days{date}.time_since_epoch().count());
}

CheckResult Date(std::string_view text, int today_days, bool allow_future) {
  const std::optional<int> days = ParseIsoDate(text);
  if (!days) return Refuse("must be a real date written YYYY-MM-DD, such as 2024-03-31");
  if (text < "1900") return Refuse("must be in 1900 or later");
  if (!allow_future && *days > today_days) return Refuse("must not be in the future");
  return std::string(text);
}

CheckResult Text(std::string_view text, std::size_t max_chars) {
  return CheckText(text, max_chars, /*multiline=*/false);
}

CheckResult MultilineText(std::string_view text, std::size_t max_chars) {
  return CheckText(text, max_chars, /*multiline=*/true);
}

CheckResult Colour(std::string_view text) {
  text = Trim(text);
  if (text.size() != 7 || text[0] != '#' || !std::all_of(text.begin() + 1, text.end(), IsHex)) {
    return Refuse("must be a colour written #RRGGBB, such as #1a7f5a");
  }
  std::string out;
  for (char c : text) out += ToLower(c);
  return out;
}

CheckResult Decimal(std::string_view text, double min, double max, int max_decimals) {
  const std::string range = "must be between " + FormatNumber(min) + " and " + FormatNumber(max);
  text = Trim(text);
  const bool negative = text.starts_with('-');
  if (negative) text.remove_prefix(1);
  const std::size_t separator = text.find_first_of(".,");
  std::string_view whole = text.substr(0, separator);
  std::string_view fraction =
      separator == std::string_view::npos ? std::string_view() : text.substr(separator + 1);
  if (whole.empty() || !AllDigits(whole) || !AllDigits(fraction) ||
      (separator != std::string_view::npos && fraction.empty())) {
    return Refuse("must be a number such as 2 or 2.5");
  }
  while (whole.size() > 1 && whole.front() == '0') whole.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  if (fraction.size() > static_cast<std::size_t>(std::max(max_decimals, 0))) {
    if (max_decimals <= 0) return Refuse("must be a whole number");
    return Refuse("must have at most " + std::to_string(max_decimals) +
                  (max_decimals == 1 ? " decimal" : " decimals"));
  }
  std::string canonical;
  if (negative && !(whole == "0" && fraction.empty())) canonical += '-';
  canonical += whole;
  if (!fraction.empty()) {
    canonical += '.';
    canonical += fraction;
  }
  double value = 0;
  const auto [end, ec] =
      std::from_chars(canonical.data(), canonical.data() + canonical.size(), value);
  if (ec != std::errc() || end != canonical.data() + canonical.size()) return Refuse(range);
  if (value < min || value > max) return Refuse(range);
  return canonical;
}

CheckResult Integer(std::string_view text, std::int64_t min, std::int64_t max) {
  const std::string range =
      "must be a whole number between " + std::to_string(min) + " and " + std::to_string(max);
  text = Trim(text);
  const bool negative = text.starts_with('-') && min < 0;
  std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || !AllDigits(digits)) return Refuse(range);
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  const std::string number = (negative ? "-" : "") + std::string(digits);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return Refuse(range);
  if (value < min || value > max) return Refuse(range);
  return std::to_string(value);
}

CheckResult Digits(std::string_view text, std::size_t min_len, std::size_t max_len) {
  std::string digits;
  for (char c : text) {
    if (c == ' ') continue;
    if (!IsDigit(c)) return Refuse("must contain only digits");
    digits += c;
  }
  if (digits.size() < min_len || digits.size() > max_len) {
    if (min_len == max_len) return Refuse("must have " + std::to_string(min_len) + " digits");
    return Refuse("must have between " + std::to_string(min_len) + " and " +
                  std::to_string(max_len) + " digits");
  }
  return digits;
}

CheckResult Boolean(std::string_view text) {
  if (text != "true" && text != "false") return Refuse("must be true or false");
  return std::string(text);
}

CheckResult OneOf(std::string_view text, std::span<const std::string_view> allowed) {
  if (std::find(allowed.begin(), allowed.end(), text) == allowed.end()) {
    return Refuse("must be one of: " + JoinAllowed(allowed));
  }
  return std::string(text);
}

CheckResult SetOf(std::string_view comma_separated, std::span<const std::string_view> allowed) {
  comma_separated = Trim(comma_separated);
  if (comma_separated.empty()) return std::string();
  std::vector<bool> chosen(allowed.size(), false);
  for (std::size_t start = 0;;) {
    const std::size_t comma = comma_separated.find(',', start);
    const std::string_view item = Trim(
        comma_separated.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (item.empty()) {
      return Refuse("must be a comma-separated list of: " + JoinAllowed(allowed));
    }
    const auto found = std::find(allowed.begin(), allowed.end(), item);
    if (found == allowed.end()) {
      return Refuse("contains \"" + std::string(item) +
                    "\", which is not one of: " + JoinAllowed(allowed));
    }
    const auto index = static_cast<std::size_t>(found - allowed.begin());
    if (chosen[index]) return Refuse("contains \"" + std::string(item) + "\" more than once");
    chosen[index] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::string out;
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    if (!chosen[i]) continue;
    if (!out.empty()) out += ',';
    out += allowed[i];
  }
  return out;
}

}  // namespace portail::commands::checks
