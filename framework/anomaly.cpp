#include "framework/anomaly.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <execinfo.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "framework/engine.hpp"
#include "framework/errors.hpp"
#include "framework/kernels.hpp"

namespace xgrad {

namespace detail {

std::string describe(const Node& node) {
    std::string s = node.op ? "op '" + node.op->label() + "'" : "leaf";
    if (!node.name.empty()) s += " '" + node.name + "'";
    return s + " of shape " + shape_str(node.value.shape());
}

std::string recorded_at(const std::vector<void*>& call_stack) {
    const std::string site = user_call_site(call_stack);
    return site.empty() ? "" : " (recorded at " + site + ")";
}

void check_forward(const Op& op, const Array& output, const Inputs& inputs, const std::vector<void*>& call_stack) {
    if (kernels::all_finite(output)) return;
    // Appended in steps: GCC 12 warns (-Wrestrict, a false positive) on one long chain of +.
    std::string message = "anomaly detected: forward of op '";
    message += op.label();
    message += "' produced a non-finite value (output ";
    message += shape_str(output.shape());
    message += ", inputs";
    for (const Array* v : inputs) {
        message += ' ';
        message += shape_str(v->shape());
    }
    message += ')';
    message += recorded_at(call_stack);
    throw AnomalyError(message);
}

void check_gradient(const Array& gradient, const Node& node, std::size_t input) {
    if (kernels::all_finite(gradient)) return;
    std::string message = "anomaly detected: non-finite value in gradient for input ";
    message += std::to_string(input);
    message += " of " + describe(node) + recorded_at(node.call_stack);
    throw AnomalyError(message);
}

std::vector<void*> capture_call_stack() {
    std::vector<void*> frames(32);
    frames.resize(static_cast<std::size_t>(::backtrace(frames.data(), static_cast<int>(frames.size()))));
    return frames;
}

}  // namespace detail

namespace {

/// A source location and the function it lies in.
struct Location {
    std::string file;
    int line = 0;
    std::string function;
};

/// The process's modules as libdw sees them, reported once and again when an address is not found
/// (a library loaded since). Calls are serialised: a Dwfl session is not thread-safe.
class DebugInfo {
public:
    ~DebugInfo() {
        if (dwfl_) dwfl_end(dwfl_);
    }

    /// The location of `pc` and of every call it was inlined through, innermost first.
    std::vector<Location> locations(Dwarf_Addr pc) {
        std::lock_guard<std::mutex> lock(mutex_);
        Dwfl_Module* module = find_module(pc);
        if (!module) return {};
        std::vector<Location> out;
        Location innermost;
        if (Dwfl_Line* line = dwfl_module_getsrc(module, pc)) {
            int number = 0;
            if (const char* file = dwfl_lineinfo(line, nullptr, &number, nullptr, nullptr, nullptr)) {
                innermost.file = file;
                innermost.line = number;
            }
        }
        Dwarf_Addr bias = 0;
        Dwarf_Die* unit = dwfl_module_addrdie(module, pc, &bias);
        Dwarf_Die* scopes = nullptr;
        const int count = unit ? dwarf_getscopes(unit, pc - bias, &scopes) : 0;
        std::unique_ptr<Dwarf_Die, decltype(&std::free)> owned(scopes, &std::free);
        // Scopes run innermost first; each inlined subroutine was called from the next function out.
        Location current = innermost;
        bool named = false;
        for (int i = 0; i < count; ++i) {
            Dwarf_Die* scope = &scopes[i];
            const int tag = dwarf_tag(scope);
            if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
            if (!named) {
                current.function = function_name(scope);
                named = true;
            }
            if (tag != DW_TAG_inlined_subroutine) break;
            out.push_back(current);
            current = Location{call_file(unit, scope), call_line(scope), {}};
            named = false;
        }
        out.push_back(current);
        return out;
    }

private:
    Dwfl_Module* find_module(Dwarf_Addr pc) {
        if (!dwfl_) {
            static char* debuginfo_path = nullptr;
            static const Dwfl_Callbacks callbacks = {dwfl_linux_proc_find_elf, dwfl_standard_find_debuginfo,
                                                     nullptr, &debuginfo_path};
            dwfl_ = dwfl_begin(&callbacks);
            if (!dwfl_) return nullptr;
            report();
        }
        Dwfl_Module* module = dwfl_addrmodule(dwfl_, pc);
        if (!module) {
            report();
            module = dwfl_addrmodule(dwfl_, pc);
        }
        return module;
    }
    void report() {
        dwfl_report_begin(dwfl_);
        dwfl_linux_proc_report(dwfl_, ::getpid());
        dwfl_report_end(dwfl_, nullptr, nullptr);
    }
    static std::string function_name(Dwarf_Die* scope) {
        Dwarf_Attribute attribute;
        // The linkage name demangles to the qualified name; the plain name is the fallback.
        for (int name : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
            if (const char* mangled = dwarf_formstring(dwarf_attr_integrate(scope, name, &attribute))) {
                int status = 0;
                std::unique_ptr<char, decltype(&std::free)> plain(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                                  &std::free);
                return status == 0 && plain ? plain.get() : mangled;
            }
        }
        const char* name = dwarf_formstring(dwarf_attr_integrate(scope, DW_AT_name, &attribute));
        return name ? name : "";
    }
    static std::string call_file(Dwarf_Die* unit, Dwarf_Die* scope) {
        Dwarf_Attribute attribute;
        Dwarf_Word index = 0;
        Dwarf_Files* files = nullptr;
        std::size_t count = 0;
        if (dwarf_formudata(dwarf_attr(scope, DW_AT_call_file, &attribute), &index) != 0) return "";
        if (dwarf_getsrcfiles(unit, &files, &count) != 0 || index >= count) return "";
        const char* file = dwarf_filesrc(files, index, nullptr, nullptr);
        return file ? file : "";
    }
    static int call_line(Dwarf_Die* scope) {
        Dwarf_Attribute attribute;
        Dwarf_Word line = 0;
        return dwarf_formudata(dwarf_attr(scope, DW_AT_call_line, &attribute), &line) == 0 ? static_cast<int>(line) : 0;
    }

    std::mutex mutex_;
    Dwfl* dwfl_ = nullptr;
};

DebugInfo& debug_info() {
    static DebugInfo* instance = new DebugInfo;  // never destroyed: reports may come during exit
    return *instance;
}

/// xgrad's own code: its library, and its public headers' inline functions (operators), wherever
/// they were inlined. Decided by file, so no namespace of the user's is mistaken for xgrad's.
bool is_xgrad_source(const std::string& file) {
    for (const char* root : {XGRAD_SOURCE_DIR "/", XGRAD_INSTALL_INCLUDEDIR "/xgrad/"}) {
        const std::string prefix = root;
        if (file.rfind(prefix, 0) != 0) continue;
        const std::string rest = file.substr(prefix.size());
        for (const char* part : {"framework/", "ops/", "models/", "xgrad.hpp"})
            if (rest.rfind(part, 0) == 0) return true;
    }
    return false;
}

}  // namespace

std::string user_call_site(const std::vector<void*>& call_stack) {
    for (void* frame : call_stack) {
        Dl_info info{};
        if (!::dladdr(frame, &info) || !info.dli_fname) continue;
        const std::string object = info.dli_fname;
        const std::string base = object.substr(object.find_last_of('/') + 1);
        // Framework, C/C++ runtime and sanitizer-runtime frames are not where the user recorded the op.
        bool runtime = false;
        for (const char* p : {"libxgrad", "libc.", "libstdc++", "libasan", "libubsan", "libtsan", "liblsan"})
            runtime = runtime || base.rfind(p, 0) == 0;
        if (runtime) continue;
        // A return address points just after the call; look up the call instruction itself.
        const auto pc = reinterpret_cast<Dwarf_Addr>(frame) - 1;
        const std::vector<Location> chain = debug_info().locations(pc);
        if (chain.empty() || chain.front().file.empty()) {
            char hex[32];
            std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(pc - reinterpret_cast<Dwarf_Addr>(info.dli_fbase)));
            return base + "+" + hex + " (no debug information for file:line)";
        }
        for (const Location& at : chain) {
            if (at.file.empty() || is_xgrad_source(at.file)) continue;  // an inlined xgrad operator
            return at.file + ":" + std::to_string(at.line) + (at.function.empty() ? "" : " in " + at.function);
        }
    }
    return {};
}

}  // namespace xgrad
