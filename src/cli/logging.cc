#include "cli/logging.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>

#include "sandboxd/common/time_source.h"

namespace sandboxd::cli {
namespace {

// One JSON object per line. Built with nlohmann so messages are always escaped; bad UTF-8
// is replaced rather than thrown on.
class JsonLineSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    nlohmann::json line = {
        {"ts", formatRfc3339(msg.time)},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    if (msg.logger_name.size() > 0) {
      line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    }
    std::string text =
        line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

Status setupLogging(const std::string& format, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return invalidArgument("log level must be trace, debug, info, warn, error or off, not \"" +
                           level + "\"");
  }
  std::shared_ptr<spdlog::logger> logger;
  if (format == "json") {
    logger = std::make_shared<spdlog::logger>("sandboxd", std::make_shared<JsonLineSink>());
  } else if (format == "text") {
    logger = std::make_shared<spdlog::logger>(
        "sandboxd", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  } else {
    return invalidArgument("log format must be text or json, not \"" + format + "\"");
  }
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return Status::ok();
}

}  // namespace sandboxd::cli
