// The API description (docs/openapi.yaml), embedded at build time.
#pragma once

#include <string_view>

namespace portail::server {

std::string_view OpenApiYaml();

}  // namespace portail::server
