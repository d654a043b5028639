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

}  // namespace sandboxd
