#include "sandboxd/common/time_source.h"

#include <ctime>
#include <string>

namespace sandboxd {
namespace {

// Days since 1970-01-01 → proleptic Gregorian (year, month 1-12, day 1-31): Howard Hinnant's
// days_from_civil inverse (http://howardhinnant.github.io/date_algorithms.html#civil_from_days).
void civilFromDays(int64_t z, int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);                     // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                      // [0, 11]
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

// Proleptic Gregorian date → days since 1970-01-01 (Hinnant's days_from_civil).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// `count` decimal digits of `text` at `at` (advanced), or -1.
int digits(const std::string& text, size_t& at, int count) {
  int value = 0;
  for (int i = 0; i < count; ++i, ++at) {
    if (at >= text.size() || text[at] < '0' || text[at] > '9') {
      return -1;
    }
    value = value * 10 + (text[at] - '0');
  }
  return value;
}

bool expect(const std::string& text, size_t& at, char c) {
  if (at < text.size() && (text[at] == c || (c == 'T' && text[at] == 't'))) {
    ++at;
    return true;
  }
  return false;
}

void put2(char* out, unsigned v) {
  out[0] = static_cast<char>('0' + v / 10);
  out[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

std::string formatRfc3339(SystemTime t) {
  // Whole seconds as system_clock::to_time_t takes them (towards zero).
  const int64_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  const int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  const auto inDay = static_cast<unsigned>(secs - days * 86400);
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  civilFromDays(days, year, month, day);
  if (year < 0 || year > 9999) {
    // Outside four-digit years: as strftime writes them (not on any path that matters).
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[48];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
  }
  char buf[20];  // YYYY-MM-DDTHH:MM:SSZ
  put2(buf, static_cast<unsigned>(year / 100));
  put2(buf + 2, static_cast<unsigned>(year % 100));
  buf[4] = '-';
  put2(buf + 5, month);
  buf[7] = '-';
  put2(buf + 8, day);
  buf[10] = 'T';
  put2(buf + 11, inDay / 3600);
  buf[13] = ':';
  put2(buf + 14, inDay / 60 % 60);
  buf[16] = ':';
  put2(buf + 17, inDay % 60);
  return std::string(buf, 19) + 'Z';
}

std::optional<SystemTime> parseRfc3339(const std::string& text) {
  size_t at = 0;
  const int year = digits(text, at, 4);
  if (year < 0 || !expect(text, at, '-')) {
    return std::nullopt;
  }
  const int month = digits(text, at, 2);
  if (month < 1 || month > 12 || !expect(text, at, '-')) {
    return std::nullopt;
  }
  const int day = digits(text, at, 2);
  if (day < 1 || !expect(text, at, 'T')) {
    return std::nullopt;
  }
  const int hour = digits(text, at, 2);
  if (hour < 0 || hour > 23 || !expect(text, at, ':')) {
    return std::nullopt;
  }
  const int minute = digits(text, at, 2);
  if (minute < 0 || minute > 59 || !expect(text, at, ':')) {
    return std::nullopt;
  }
  const int second = digits(text, at, 2);
  if (second < 0 || second > 60) {
    return std::nullopt;
  }
  // The day must exist in its month (Feb 30 is refused, not moved into March).
  int64_t year_ = year;
  unsigned m = 0;
  unsigned d = 0;
  civilFromDays(daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)),
                year_, m, d);
  if (m != static_cast<unsigned>(month) || d != static_cast<unsigned>(day)) {
    return std::nullopt;
  }
  int64_t millis = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    int scale = 100;
    size_t first = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      millis += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == first) {
      return std::nullopt;
    }
  }
  int64_t offsetMinutes = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    const int sign = text[at++] == '-' ? -1 : 1;
    const int oh = digits(text, at, 2);
    if (oh < 0 || oh > 23 || !expect(text, at, ':')) {
      return std::nullopt;
    }
    const int om = digits(text, at, 2);
    if (om < 0 || om > 59) {
      return std::nullopt;
    }
    offsetMinutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (at != text.size()) {
    return std::nullopt;
  }
  const int64_t secs =
      daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  return SystemTime{} + std::chrono::milliseconds(secs * 1000 + millis);
}

}  // namespace sandboxd
