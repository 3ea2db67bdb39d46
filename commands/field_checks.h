// Pure validators and normalisers for the fields of a family file (dossier).
// Each check returns the normalised value, or a message fit for a user saying why the value is
// refused; the message reads after the field name ("must be ..."), which the caller adds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace portail::commands::checks {

// The normalised value, or why the input is refused (without the field name).
using CheckResult = std::expected<std::string, std::string>;

// A French national number (10 digits, "0" then 1-9; spaces, dots and dashes allowed) or
// "+33"/"0033" followed by 9 digits becomes "06 12 34 56 78"; another international number
// ("+" then 8 to 15 digits) becomes "+" followed by its digits only.
[[nodiscard]] CheckResult Phone(std::string_view text);

// A trimmed e-mail address of at most 254 characters with one '@', a local part of 1 to 64
// characters without spaces or control characters and a dotted domain; the domain is lower-cased.
[[nodiscard]] CheckResult Email(std::string_view text);

// A French postal code: 5 digits whose department prefix is 01 to 95, 97 or 98 (surrounding spaces
// are trimmed); returns the 5 digits.
[[nodiscard]] CheckResult PostalCode(std::string_view text);

// An IBAN with or without spaces, in any case: country letters, check digits and BBAN, with the
// length of its country when known and a valid ISO 13616 mod-97 checksum. Returns the compact,
// upper-case form ("FR7630006000011234567890189").
[[nodiscard]] CheckResult Iban(std::string_view text);

// How an IBAN is shown (grouped, masked): schema::dossier::FormatIban / MaskIban.

// A BIC (SWIFT code), trimmed and upper-cased: 4 bank letters, 2 country letters, 2 letters or
// digits for the location and an optional 3-character branch; returns 8 or 11 characters.
[[nodiscard]] CheckResult Bic(std::string_view text);

// Days since 1970-01-01 of a strict ISO "YYYY-MM-DD" calendar date; nullopt when the text does not
// have exactly that shape or names no real day (2023-02-29).
[[nodiscard]] std::optional<int> ParseIsoDate(std::string_view text);

// A strict ISO "YYYY-MM-DD" date in 1900 or later; unless `allow_future`, it must not be after
// `today_days` (days since 1970-01-01 of today in Paris). Returns the date text unchanged.
[[nodiscard]] CheckResult Date(std::string_view text, int today_days, bool allow_future);

// Single-line text: valid UTF-8 without control characters, trimmed of ASCII whitespace at both
// ends, at most `max_chars` code points. May return an empty string.
[[nodiscard]] CheckResult Text(std::string_view text, std::size_t max_chars);

// Like Text but line breaks are allowed: "\r\n" and a lone "\r" become "\n".
[[nodiscard]] CheckResult MultilineText(std::string_view text, std::size_t max_chars);

// A colour "#RRGGBB" in hexadecimal; returns it lower-cased.
[[nodiscard]] CheckResult Colour(std::string_view text);

// A plain decimal number ("2", "-2.5", "1,5"; no exponent, no '+') within [min, max] with at most
// `max_decimals` significant decimals. Returns canonical text: a dot, no leading zeros in the
// integer part, no trailing zeros ("2.50" -> "2.5", "3.0" -> "3").
[[nodiscard]] CheckResult Decimal(std::string_view text, double min, double max, int max_decimals);

// A whole number within [min, max] written with digits only, a leading '-' being accepted only when
// `min` is negative. Returns canonical text without leading zeros.
[[nodiscard]] CheckResult Integer(std::string_view text, std::int64_t min, std::int64_t max);

// A number made of digits only once spaces are removed (a CAF number), between `min_len` and
// `max_len` digits long; returns the digits.
[[nodiscard]] CheckResult Digits(std::string_view text, std::size_t min_len, std::size_t max_len);

// Exactly "true" or "false"; returns it.
[[nodiscard]] CheckResult Boolean(std::string_view text);

// One of `allowed`, matched exactly; returns it.
[[nodiscard]] CheckResult OneOf(std::string_view text, std::span<const std::string_view> allowed);

// A comma-separated set of values of `allowed`, without duplicates (spaces around items are
// ignored). Returns the items in the order of `allowed`, joined by ","; "" is the empty set.
[[nodiscard]] CheckResult SetOf(std::string_view comma_separated,
                                std::span<const std::string_view> allowed);

}  // namespace portail::commands::checks
