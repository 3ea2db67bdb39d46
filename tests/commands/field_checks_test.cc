// Tests of the dossier field validators: normalised values for good input, reasons for bad input.
#include "commands/field_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schemas/dossier_catalogue.h"

namespace portail::commands::checks {
namespace {

using ::testing::HasSubstr;

// Succeeds when `result` holds the value `expected`; shows the refusal otherwise.
void ExpectValue(const CheckResult& result, std::string_view expected) {
  ASSERT_TRUE(result.has_value()) << "refused: " << result.error();
  EXPECT_EQ(*result, expected);
}

// The refusal message of `result`, or a marker that makes any HasSubstr fail when it was accepted.
std::string Refusal(const CheckResult& result) {
  if (result.has_value()) return "<accepted as \"" + *result + "\">";
  return result.error();
}

// ---- Phone

TEST(FieldChecksPhone, FrenchNumberIsGroupedInPairs) {
  ExpectValue(Phone("0612345678"), "06 12 34 56 78");
  ExpectValue(Phone("06 12 34 56 78"), "06 12 34 56 78");
  ExpectValue(Phone("06.12.34.56.78"), "06 12 34 56 78");
  ExpectValue(Phone("01-42-68-53-00"), "01 42 68 53 00");
  ExpectValue(Phone("  0912345678 "), "09 12 34 56 78");
}

TEST(FieldChecksPhone, FrenchInternationalFormsBecomeNational) {
  ExpectValue(Phone("+33 6 12 34 56 78"), "06 12 34 56 78");
  ExpectValue(Phone("+33612345678"), "06 12 34 56 78");
  ExpectValue(Phone("0033 6 12 34 56 78"), "06 12 34 56 78");
  ExpectValue(Phone("0033.1.42.68.53.00"), "01 42 68 53 00");
}

TEST(FieldChecksPhone, OtherInternationalNumbersKeepOnlyPlusAndDigits) {
  ExpectValue(Phone("+32 2 123 45 67"), "+3221234567");
  ExpectValue(Phone("+41-44-668-18-00"), "+41446681800");
}

TEST(FieldChecksPhone, InternationalDigitCountIsBetween8And15) {
  ExpectValue(Phone("+12345678"), "+12345678");
  ExpectValue(Phone("+123456789012345"), "+123456789012345");
  EXPECT_THAT(Refusal(Phone("+1234567")), HasSubstr("8 to 15 digits"));
  EXPECT_THAT(Refusal(Phone("+1234567890123456")), HasSubstr("8 to 15 digits"));
}

TEST(FieldChecksPhone, WrongLengthsAreRefused) {
  EXPECT_THAT(Refusal(Phone("061234567")), HasSubstr("10 digits"));
  EXPECT_THAT(Refusal(Phone("06123456789")), HasSubstr("10 digits"));
  EXPECT_THAT(Refusal(Phone("+33 6 12 34 56 7")), HasSubstr("+33"));
  EXPECT_THAT(Refusal(Phone("+33 06 12 34 56 78")), HasSubstr("+33"));
  EXPECT_THAT(Refusal(Phone("0033 6 12 34 56 789")), HasSubstr("+33"));
}

TEST(FieldChecksPhone, NumbersNotStartingWithZeroThenNonZeroAreRefused) {
  EXPECT_FALSE(Phone("6123456789").has_value());
  EXPECT_FALSE(Phone("0012345678").has_value());
}

TEST(FieldChecksPhone, DoubleZeroPrefixOfAnotherCountryIsRefused) {
  EXPECT_THAT(Refusal(Phone("0032 2 123 45 67")), HasSubstr("+"));
}

TEST(FieldChecksPhone, LettersAndOtherSymbolsAreRefused) {
  EXPECT_FALSE(Phone("06 12 34 56 7a").has_value());
  EXPECT_FALSE(Phone("(06) 12 34 56 78").has_value());
  EXPECT_FALSE(Phone("06+12345678").has_value());
  EXPECT_FALSE(Phone("+0612345678").has_value());
  EXPECT_FALSE(Phone("").has_value());
  EXPECT_FALSE(Phone("+").has_value());
  EXPECT_FALSE(Phone("phone").has_value());
}

// ---- Email

TEST(FieldChecksEmail, DomainIsLowerCasedAndLocalPartKept) {
  ExpectValue(Email("Ada.Lovelace@Example.ORG"), "Ada.Lovelace@example.org");
  ExpectValue(Email("  parent+ecole@mairie-lyon.fr \n"), "parent+ecole@mairie-lyon.fr");
  ExpectValue(Email("a@b.co"), "a@b.co");
  ExpectValue(Email("x@sub.domain-1.example.com"), "x@sub.domain-1.example.com");
}

TEST(FieldChecksEmail, LengthLimitsAreEnforced) {
  const std::string local64(64, 'a');
  ExpectValue(Email(local64 + "@example.fr"), local64 + "@example.fr");
  EXPECT_THAT(Refusal(Email(std::string(65, 'a') + "@example.fr")), HasSubstr("64"));
  std::string long_domain;
  for (int i = 0; i < 5; ++i) long_domain += std::string(60, 'd') + ".";
  long_domain += "fr";
  EXPECT_THAT(Refusal(Email("a@" + long_domain)), HasSubstr("254"));
}

TEST(FieldChecksEmail, AtSignMustAppearExactlyOnce) {
  EXPECT_THAT(Refusal(Email("ada.example.org")), HasSubstr("@"));
  EXPECT_THAT(Refusal(Email("ada@home@example.org")), HasSubstr("exactly one @"));
  EXPECT_FALSE(Email("@example.org").has_value());
  EXPECT_FALSE(Email("").has_value());
}

TEST(FieldChecksEmail, SpacesAndControlCharactersInLocalPartAreRefused) {
  EXPECT_THAT(Refusal(Email("ada lovelace@example.org")), HasSubstr("spaces"));
  EXPECT_FALSE(Email(std::string("ada\x01@example.org")).has_value());
  EXPECT_FALSE(Email("ada\t@example.org").has_value());
}

TEST(FieldChecksEmail, MalformedDomainsAreRefused) {
  EXPECT_THAT(Refusal(Email("ada@localhost")), HasSubstr("dot"));
  EXPECT_FALSE(Email("ada@").has_value());
  EXPECT_FALSE(Email("ada@example..org").has_value());
  EXPECT_FALSE(Email("ada@.example.org").has_value());
  EXPECT_FALSE(Email("ada@example.org.").has_value());
  EXPECT_FALSE(Email("ada@-example.org").has_value());
  EXPECT_FALSE(Email("ada@example-.org").has_value());
  EXPECT_FALSE(Email("ada@exa_mple.org").has_value());
}

TEST(FieldChecksEmail, TopLevelDomainNeedsTwoLetters) {
  EXPECT_FALSE(Email("ada@example.f").has_value());
  EXPECT_FALSE(Email("ada@example.123").has_value());
  EXPECT_FALSE(Email("ada@example.f1").has_value());
}

// ---- PostalCode

TEST(FieldChecksPostalCode, FrenchCodesAreAccepted) {
  ExpectValue(PostalCode("75001"), "75001");
  ExpectValue(PostalCode("01000"), "01000");
  ExpectValue(PostalCode("20000"), "20000");  // Corsica
  ExpectValue(PostalCode("95880"), "95880");
  ExpectValue(PostalCode("97400"), "97400");  // La Réunion
  ExpectValue(PostalCode("98000"), "98000");  // Monaco
  ExpectValue(PostalCode(" 69003 "), "69003");
}

TEST(FieldChecksPostalCode, UnknownDepartmentPrefixesAreRefused) {
  EXPECT_THAT(Refusal(PostalCode("00123")), HasSubstr("department"));
  EXPECT_THAT(Refusal(PostalCode("96000")), HasSubstr("department"));
  EXPECT_THAT(Refusal(PostalCode("99000")), HasSubstr("department"));
}

TEST(FieldChecksPostalCode, AnythingButFiveDigitsIsRefused) {
  EXPECT_THAT(Refusal(PostalCode("7500")), HasSubstr("5 digits"));
  EXPECT_FALSE(PostalCode("750011").has_value());
  EXPECT_FALSE(PostalCode("75 001").has_value());
  EXPECT_FALSE(PostalCode("7500A").has_value());
  EXPECT_FALSE(PostalCode("").has_value());
}

// ---- Iban, FormatIban, MaskIban

TEST(FieldChecksIban, ValidIbansAreReturnedCompact) {
  ExpectValue(Iban("FR7630006000011234567890189"), "FR7630006000011234567890189");
  ExpectValue(Iban("FR76 3000 6000 0112 3456 7890 189"), "FR7630006000011234567890189");
  ExpectValue(Iban("fr76 3000 6000 0112 3456 7890 189"), "FR7630006000011234567890189");
  ExpectValue(Iban("DE89370400440532013000"), "DE89370400440532013000");
  ExpectValue(Iban("GB82 WEST 1234 5698 7654 32"), "GB82WEST12345698765432");
  ExpectValue(Iban("gb82west12345698765432"), "GB82WEST12345698765432");
}

TEST(FieldChecksIban, IbanOfUnlistedCountryNeedsOnlyAPlausibleLength) {
  ExpectValue(Iban("NO9386011117947"), "NO9386011117947");  // Norway, 15 characters
}

TEST(FieldChecksIban, ChangedDigitFailsTheCheckDigits) {
  EXPECT_THAT(Refusal(Iban("FR7630006000011234567890188")), HasSubstr("check digits"));
  EXPECT_THAT(Refusal(Iban("DE89370400440532013001")), HasSubstr("check digits"));
  EXPECT_THAT(Refusal(Iban("GB82WEST12345698765433")), HasSubstr("check digits"));
  EXPECT_THAT(Refusal(Iban("FR7730006000011234567890189")), HasSubstr("check digits"));
}

TEST(FieldChecksIban, KnownCountryNeedsItsExactLength) {
  EXPECT_THAT(Refusal(Iban("FR763000600001123456789018")), HasSubstr("27"));
  EXPECT_THAT(Refusal(Iban("DE893704004405320130001")), HasSubstr("22"));
}

TEST(FieldChecksIban, LengthOutsideFifteenToThirtyFourIsRefused) {
  EXPECT_THAT(Refusal(Iban("XX1212345678")), HasSubstr("15 and 34"));
  EXPECT_THAT(Refusal(Iban("XX12" + std::string(31, '1'))), HasSubstr("15 and 34"));
}

TEST(FieldChecksIban, MalformedStartsAndCharactersAreRefused) {
  EXPECT_THAT(Refusal(Iban("7630006000011234567890189FR")), HasSubstr("country"));
  EXPECT_FALSE(Iban("FRXX30006000011234567890189").has_value());
  EXPECT_FALSE(Iban("FR76-3000-6000-0112-3456-7890-189").has_value());
  EXPECT_FALSE(Iban("").has_value());
}

TEST(FieldChecksFormatIban, GroupsByFour) {
  EXPECT_EQ(schema::dossier::FormatIban("FR7630006000011234567890189"),
            "FR76 3000 6000 0112 3456 7890 189");
  EXPECT_EQ(schema::dossier::FormatIban("DE89370400440532013000"), "DE89 3704 0044 0532 0130 00");
  EXPECT_EQ(schema::dossier::FormatIban("BE68539007547034"), "BE68 5390 0754 7034");
  EXPECT_EQ(schema::dossier::FormatIban(""), "");
}

TEST(FieldChecksMaskIban, KeepsFirstAndLastFourCharacters) {
  EXPECT_EQ(schema::dossier::MaskIban("FR7630006000011234567890189"),
            "FR76 **** **** **** **** ***0 189");
  EXPECT_EQ(schema::dossier::MaskIban("FR7630006000011234567891234"),
            "FR76 **** **** **** **** ***1 234");
  EXPECT_EQ(schema::dossier::MaskIban("DE89370400440532013000"), "DE89 **** **** **** **30 00");
  EXPECT_EQ(schema::dossier::MaskIban("BE68539007547034"), "BE68 **** **** 7034");
}

TEST(FieldChecksMaskIban, ShortInputHasNothingToHide) {
  EXPECT_EQ(schema::dossier::MaskIban("ABCDEFGH"), "ABCD EFGH");
  EXPECT_EQ(schema::dossier::MaskIban("ABC"), "ABC");
}

// ---- Bic

TEST(FieldChecksBic, EightAndElevenCharacterCodesAreUpperCased) {
  ExpectValue(Bic("BNPAFRPP"), "BNPAFRPP");
  ExpectValue(Bic(" bnpafrppxxx "), "BNPAFRPPXXX");
  ExpectValue(Bic("DEUTDEFF500"), "DEUTDEFF500");
  ExpectValue(Bic("CEPAFRPP751"), "CEPAFRPP751");
}

TEST(FieldChecksBic, WrongShapesAreRefused) {
  EXPECT_THAT(Refusal(Bic("BNPAFRP")), HasSubstr("8 or 11"));
  EXPECT_THAT(Refusal(Bic("BNPAFRPPXX")), HasSubstr("8 or 11"));
  EXPECT_THAT(Refusal(Bic("BNP1FRPP")), HasSubstr("bank"));
  EXPECT_THAT(Refusal(Bic("BNPAF1PP")), HasSubstr("country"));
  EXPECT_FALSE(Bic("BNPAFRP-").has_value());
  EXPECT_FALSE(Bic("BNPAFRPPX_X").has_value());
}

// ---- ParseIsoDate and Date

TEST(FieldChecksDate, ParseIsoDateCountsDaysSinceTheEpoch) {
  EXPECT_EQ(ParseIsoDate("1970-01-01"), std::optional<int>(0));
  EXPECT_EQ(ParseIsoDate("1970-01-02"), std::optional<int>(1));
  EXPECT_EQ(ParseIsoDate("1969-12-31"), std::optional<int>(-1));
  EXPECT_EQ(ParseIsoDate("2000-03-01"), std::optional<int>(11017));
  EXPECT_EQ(ParseIsoDate("2024-02-29"), std::optional<int>(19782));
}

TEST(FieldChecksDate, ParseIsoDateNeedsTheExactShapeAndARealDay) {
  EXPECT_EQ(ParseIsoDate("2024-2-29"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("2024/02/29"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("29-02-2024"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("2024-02-29T00"), std::nullopt);
  EXPECT_EQ(ParseIsoDate(" 2024-02-29"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("2024-0a-29"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("+024-02-29"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("2023-02-29"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("1900-02-29"), std::nullopt);  // not a leap year
  EXPECT_EQ(ParseIsoDate("2024-13-01"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("2024-00-10"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("2024-04-31"), std::nullopt);
  EXPECT_EQ(ParseIsoDate("2024-04-00"), std::nullopt);
  EXPECT_EQ(ParseIsoDate(""), std::nullopt);
}

TEST(FieldChecksDate, PastAndTodayAreAcceptedUnchanged) {
  const int today = *ParseIsoDate("2024-06-15");
  ExpectValue(Date("2024-06-15", today, false), "2024-06-15");
  ExpectValue(Date("2016-02-29", today, false), "2016-02-29");
  ExpectValue(Date("1900-01-01", today, false), "1900-01-01");
}

TEST(FieldChecksDate, FutureIsRefusedUnlessAllowed) {
  const int today = *ParseIsoDate("2024-06-15");
  EXPECT_THAT(Refusal(Date("2024-06-16", today, false)), HasSubstr("must not be in the future"));
  ExpectValue(Date("2024-06-16", today, true), "2024-06-16");
  ExpectValue(Date("2030-09-01", today, true), "2030-09-01");
}

TEST(FieldChecksDate, YearsBefore1900AreRefused) {
  const int today = *ParseIsoDate("2024-06-15");
  EXPECT_THAT(Refusal(Date("1899-12-31", today, false)), HasSubstr("1900"));
  EXPECT_THAT(Refusal(Date("0001-01-01", today, false)), HasSubstr("1900"));
}

TEST(FieldChecksDate, BadShapesAndImpossibleDaysAreRefused) {
  const int today = *ParseIsoDate("2024-06-15");
  EXPECT_THAT(Refusal(Date("15/06/2024", today, false)), HasSubstr("YYYY-MM-DD"));
  EXPECT_THAT(Refusal(Date("2023-02-29", today, false)), HasSubstr("YYYY-MM-DD"));
  EXPECT_FALSE(Date("", today, true).has_value());
}

// ---- Text and MultilineText

TEST(FieldChecksText, TrimsAsciiWhitespaceAtBothEnds) {
  ExpectValue(Text("  Ada Lovelace \t", 50), "Ada Lovelace");
  ExpectValue(Text("", 10), "");
  ExpectValue(Text("   ", 10), "");
}

TEST(FieldChecksText, CountsCodePointsNotBytes) {
  ExpectValue(Text("Chloé", 5), "Chloé");
  ExpectValue(Text("日本語", 3), "日本語");
  ExpectValue(Text("😀😀", 2), "😀😀");
  EXPECT_THAT(Refusal(Text("Chloée", 5)), HasSubstr("at most 5 characters"));
}

TEST(FieldChecksText, ControlCharactersAndLineBreaksAreRefused) {
  EXPECT_THAT(Refusal(Text("Ada\nLovelace", 50)), HasSubstr("single line"));
  EXPECT_THAT(Refusal(Text("Ada\tLovelace", 50)), HasSubstr("control"));
  EXPECT_THAT(Refusal(Text(std::string("Ada\0Lovelace", 12), 50)), HasSubstr("control"));
  EXPECT_THAT(Refusal(Text("Ada\x7f", 50)), HasSubstr("control"));
  EXPECT_THAT(Refusal(Text("Ada\u0085", 50)), HasSubstr("control"));  // NEL, a C1 control
  EXPECT_THAT(Refusal(Text("Ada\u2028Lovelace", 50)), HasSubstr("single line"));
}

TEST(FieldChecksText, InvalidUtf8IsRefused) {
  EXPECT_THAT(Refusal(Text("caf\xe9", 50)), HasSubstr("UTF-8"));           // Latin-1
  EXPECT_THAT(Refusal(Text("\xc3", 50)), HasSubstr("UTF-8"));              // cut sequence
  EXPECT_THAT(Refusal(Text("\xc0\xaf", 50)), HasSubstr("UTF-8"));          // overlong '/'
  EXPECT_THAT(Refusal(Text("\xed\xa0\x80", 50)), HasSubstr("UTF-8"));      // surrogate
  EXPECT_THAT(Refusal(Text("\xf4\x90\x80\x80", 50)), HasSubstr("UTF-8"));  // above U+10FFFF
  EXPECT_THAT(Refusal(Text("\x80", 50)), HasSubstr("UTF-8"));              // lone continuation
}

TEST(FieldChecksMultilineText, KeepsLineBreaksAndNormalisesCarriageReturns) {
  ExpectValue(MultilineText("Allergies:\r\n- peanuts\r\n- eggs", 100),
              "Allergies:\n- peanuts\n- eggs");
  ExpectValue(MultilineText("one\rtwo", 100), "one\ntwo");
  ExpectValue(MultilineText("\n\n  text  \n\n", 100), "text");
  ExpectValue(MultilineText("a\n\nb", 4), "a\n\nb");
}

TEST(FieldChecksMultilineText, OtherControlCharactersAndLongTextAreRefused) {
  EXPECT_THAT(Refusal(MultilineText("a\tb", 100)), HasSubstr("control"));
  EXPECT_THAT(Refusal(MultilineText("a\x1b[31m", 100)), HasSubstr("control"));
  EXPECT_THAT(Refusal(MultilineText("a\r\nb", 2)), HasSubstr("at most 2"));
  EXPECT_THAT(Refusal(MultilineText("\xff", 100)), HasSubstr("UTF-8"));
}

// ---- Colour

TEST(FieldChecksColour, HexColoursAreLowerCased) {
  ExpectValue(Colour("#1A7F5A"), "#1a7f5a");
  ExpectValue(Colour("#ffffff"), "#ffffff");
  ExpectValue(Colour("#000000"), "#000000");
}

TEST(FieldChecksColour, OtherNotationsAreRefused) {
  EXPECT_THAT(Refusal(Colour("1A7F5A")), HasSubstr("#RRGGBB"));
  EXPECT_FALSE(Colour("#fff").has_value());
  EXPECT_FALSE(Colour("#1a7f5a0").has_value());
  EXPECT_FALSE(Colour("#1g7f5a").has_value());
  EXPECT_FALSE(Colour("red").has_value());
  EXPECT_FALSE(Colour("").has_value());
}

// ---- Decimal

TEST(FieldChecksDecimal, NumbersAreWrittenCanonically) {
  ExpectValue(Decimal("2", 0, 10, 2), "2");
  ExpectValue(Decimal("2.5", 0, 10, 2), "2.5");
  ExpectValue(Decimal("1,5", 0, 10, 2), "1.5");
  ExpectValue(Decimal("2.50", 0, 10, 2), "2.5");
  ExpectValue(Decimal("3.0", 0, 10, 2), "3");
  ExpectValue(Decimal("007.25", 0, 10, 2), "7.25");
  ExpectValue(Decimal("0.05", 0, 10, 2), "0.05");
  ExpectValue(Decimal(" 4 ", 0, 10, 2), "4");
  ExpectValue(Decimal("-1.5", -5, 5, 1), "-1.5");
  ExpectValue(Decimal("-0.0", -5, 5, 1), "0");
}

TEST(FieldChecksDecimal, BoundsAreInclusive) {
  ExpectValue(Decimal("0", 0, 2.5, 1), "0");
  ExpectValue(Decimal("2.5", 0, 2.5, 1), "2.5");
  EXPECT_THAT(Refusal(Decimal("2.6", 0, 2.5, 1)), HasSubstr("between 0 and 2.5"));
  EXPECT_THAT(Refusal(Decimal("-0.1", 0, 2.5, 1)), HasSubstr("between 0 and 2.5"));
  EXPECT_THAT(Refusal(Decimal("2000000", 0, 1000000, 0)), HasSubstr("between 0 and 1000000"));
}

TEST(FieldChecksDecimal, TooManyDecimalsAreRefused) {
  EXPECT_THAT(Refusal(Decimal("2.55", 0, 10, 1)), HasSubstr("at most 1 decimal"));
  EXPECT_THAT(Refusal(Decimal("2.5", 0, 10, 0)), HasSubstr("whole number"));
  ExpectValue(Decimal("2.500", 0, 10, 1), "2.5");  // trailing zeros are not significant
}

TEST(FieldChecksDecimal, OtherNotationsAreRefused) {
  for (std::string_view bad : {"", "+2", "1e3", ".5", "5.", "1.2.3", "1,2,3", "1 000", "abc", "-",
                               "0x10", "2.5.", "inf", "nan"}) {
    EXPECT_THAT(Refusal(Decimal(bad, -1e9, 1e9, 3)), HasSubstr("number")) << bad;
  }
}

// ---- Integer

TEST(FieldChecksInteger, WholeNumbersAreWrittenCanonically) {
  ExpectValue(Integer("42", 0, 100), "42");
  ExpectValue(Integer("007", 0, 100), "7");
  ExpectValue(Integer("0", 0, 100), "0");
  ExpectValue(Integer("100", 0, 100), "100");
  ExpectValue(Integer("-3", -10, 10), "-3");
  ExpectValue(Integer("-0", -10, 10), "0");
  ExpectValue(Integer("9223372036854775807", 0, INT64_MAX), "9223372036854775807");
}

TEST(FieldChecksInteger, OutOfRangeValuesAreRefused) {
  EXPECT_THAT(Refusal(Integer("101", 0, 100)), HasSubstr("between 0 and 100"));
  EXPECT_THAT(Refusal(Integer("-11", -10, 10)), HasSubstr("between -10 and 10"));
  EXPECT_FALSE(Integer("9223372036854775808", 0, INT64_MAX).has_value());
  EXPECT_FALSE(Integer("99999999999999999999999", 0, 100).has_value());
}

TEST(FieldChecksInteger, MinusSignIsRefusedWhenMinimumIsNotNegative) {
  EXPECT_FALSE(Integer("-1", 0, 100).has_value());
  EXPECT_FALSE(Integer("-0", 0, 100).has_value());
}

TEST(FieldChecksInteger, NonDigitsAreRefused) {
  for (std::string_view bad : {"", "+1", "1.0", "1e2", "12a", "1 2", "-", "--1"}) {
    EXPECT_FALSE(Integer(bad, -100, 100).has_value()) << bad;
  }
}

// ---- Digits

TEST(FieldChecksDigits, SpacesAreRemoved) {
  ExpectValue(Digits("1234567", 1, 10), "1234567");
  ExpectValue(Digits(" 12 345 67 ", 1, 10), "1234567");
  ExpectValue(Digits("0012", 1, 10), "0012");  // leading zeros are part of an identifier
  ExpectValue(Digits("1234567890", 1, 10), "1234567890");
}

TEST(FieldChecksDigits, LengthAndCharactersAreChecked) {
  EXPECT_THAT(Refusal(Digits("12345678901", 1, 10)), HasSubstr("between 1 and 10 digits"));
  EXPECT_THAT(Refusal(Digits("", 1, 10)), HasSubstr("between 1 and 10 digits"));
  EXPECT_THAT(Refusal(Digits("123", 5, 5)), HasSubstr("5 digits"));
  EXPECT_THAT(Refusal(Digits("12-34", 1, 10)), HasSubstr("only digits"));
  EXPECT_FALSE(Digits("12a4", 1, 10).has_value());
}

// ---- Boolean

TEST(FieldChecksBoolean, OnlyTrueAndFalseAreAccepted) {
  ExpectValue(Boolean("true"), "true");
  ExpectValue(Boolean("false"), "false");
  for (std::string_view bad : {"", "True", "FALSE", "1", "0", "yes", " true", "oui"}) {
    EXPECT_THAT(Refusal(Boolean(bad)), HasSubstr("true or false")) << bad;
  }
}

// ---- OneOf and SetOf

constexpr std::array<std::string_view, 4> kMeals = {"breakfast", "lunch", "snack", "dinner"};

TEST(FieldChecksOneOf, ExactMatchIsReturned) {
  ExpectValue(OneOf("lunch", kMeals), "lunch");
  ExpectValue(OneOf("dinner", kMeals), "dinner");
}

TEST(FieldChecksOneOf, ErrorListsTheAllowedValues) {
  EXPECT_THAT(Refusal(OneOf("Lunch", kMeals)),
              HasSubstr("must be one of: breakfast, lunch, snack, dinner"));
  EXPECT_FALSE(OneOf(" lunch", kMeals).has_value());
  EXPECT_FALSE(OneOf("", kMeals).has_value());
}

TEST(FieldChecksSetOf, ItemsAreSortedInTheAllowedOrder) {
  ExpectValue(SetOf("dinner,breakfast", kMeals), "breakfast,dinner");
  ExpectValue(SetOf("snack", kMeals), "snack");
  ExpectValue(SetOf("dinner, snack , lunch,breakfast", kMeals), "breakfast,lunch,snack,dinner");
}

TEST(FieldChecksSetOf, EmptyStringIsTheEmptySet) {
  ExpectValue(SetOf("", kMeals), "");
  ExpectValue(SetOf("  ", kMeals), "");
}

TEST(FieldChecksSetOf, UnknownDuplicateAndEmptyItemsAreRefused) {
  EXPECT_THAT(Refusal(SetOf("lunch,brunch", kMeals)), HasSubstr("\"brunch\""));
  EXPECT_THAT(Refusal(SetOf("lunch,brunch", kMeals)), HasSubstr("breakfast, lunch, snack, dinner"));
  EXPECT_THAT(Refusal(SetOf("lunch,snack,lunch", kMeals)), HasSubstr("more than once"));
  EXPECT_FALSE(SetOf("lunch,,snack", kMeals).has_value());
  EXPECT_FALSE(SetOf("lunch,", kMeals).has_value());
  EXPECT_FALSE(SetOf(",", kMeals).has_value());
  EXPECT_FALSE(SetOf("Lunch", kMeals).has_value());
}

}  // namespace
}  // namespace portail::commands::checks
