// simdmf: train, evaluate and serve matrix-factorization recommenders from the command line.
// Exit codes: 0 success, 1 failure reported by the library (message on stderr), 2 bad usage.
// The subcommands live in cmd_model.cpp (train, cv, tune, demo), cmd_serve.cpp (predict, eval,
// recommend, similar, info), cmd_data.cpp (split, convert, gen), cmd_interop.cpp (import, export) and
// cmd_options.cpp (options).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "cli_common.hpp"
#include "io/model_file.hpp"
#include "kernels/kernels.hpp"

using namespace simdmf;

namespace {
// The last line of defence for messages that quote input: control bytes (ESC, BEL, NUL, ...) are
// printed as \xNN so that they never reach the terminal; the text is otherwise as the library said it.
std::string printable(const char* what) {
    std::string out;
    for (const unsigned char c : std::string(what)) {
        if (c < 0x20 || c == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            out += b;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}
}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // results and stderr progress interleave in order
    CLI::App app{"simdmf " SIMDMF_VERSION_STRING ": matrix-factorization recommenders with SIMD kernels."};
    app.footer("Run 'simdmf <command> --help' for a command's options. --quiet and --json work with every command.\n"
               "Exit codes: 0 success, 1 error reported by the library (message on stderr: missing or malformed\n"
               "file, bad data, ...), 2 bad usage.");
    app.set_version_flag("-V,--version", [] {
        // The tool and its core are one build: the library version, the model file version it writes,
        // and the SIMD level its kernels run at here (SIMDMF_SIMD forces another).
        return std::string("simdmf " SIMDMF_VERSION_STRING " (model file v") + std::to_string(model_file::kVersion) +
               ", SIMD level " + kernels::active().name + " of best " + kernels::level_name(kernels::best_supported()) + ")";
    });
    app.require_subcommand(1);
    app.fallthrough();  // global flags may also follow the subcommand
    cli::Output out;
    app.add_flag("-q,--quiet", out.quiet, "no progress lines or bars on stderr");
    app.add_flag("--json", out.json, "print results as one JSON document on stdout");

    cli::Registry reg;
    cli::add_model_commands(app, out, reg);
    cli::add_serve_commands(app, out, reg);
    cli::add_data_commands(app, out, reg);
    cli::add_interop_commands(app, out, reg);
    cli::add_option_commands(app, out, reg);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return cli::kExitUsage;
    }
    try {
        for (const auto& c : reg)
            if (*c.app) return c.run();
    } catch (const cli::UsageError& e) {
        std::fprintf(stderr, "simdmf: usage error: %s (see --help)\n", printable(e.what()).c_str());
        return cli::kExitUsage;
    } catch (const Error& e) {
        std::fprintf(stderr, "simdmf: error: %s (%s)\n", printable(e.what()).c_str(), status_name(e.status()));
        return cli::kExitError;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "simdmf: error: %s\n", printable(e.what()).c_str());
        return cli::kExitError;
    }
    return cli::kExitUsage;
}
