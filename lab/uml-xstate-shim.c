/*
 * LD_PRELOAD shim for Debian's user-mode-linux 6.1 on hosts with large XSAVE areas
 * (AVX-512, AMX). Without it every guest dies at its first process:
 *
 *   userspace - ptrace set fp regs failed, errno = 14
 *   Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b
 *
 * Cause: UML 6.1 keeps a fixed 832-byte `struct _xstate` (x87/SSE + header + AVX) and
 * writes it back with PTRACE_SETREGSET(NT_X86_XSTATE); the host kernel only accepts a
 * buffer of exactly its own user xstate size (xstateregs_set() returns -EFAULT otherwise).
 * Reading with a short buffer is allowed (the kernel truncates), so only the write is
 * fixed here: read the task's full current state, lay UML's 832 bytes over it (x87, SSE,
 * AVX and the header's bits for those three), and write the full size. Components UML does
 * not know (AVX-512, AMX) keep the host task's own values. Upstream fixed this in 2024
 * ("um: switch to regset API and depend on XSTATE"); Debian 12's UML predates it.
 *
 * Built by lab/lab.sh into the cache and used only for the lab's linux.uml processes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define XSTATE_BV_OFFSET 512      /* xsave header follows the 512-byte legacy area */
#define UML_KNOWN_FEATURES 0x7ULL /* x87, SSE, AVX (YMM) */

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

/* UML runs guest code on small kernel stacks: keep the big buffer off the stack. UML's
 * host side is single-threaded where it calls ptrace for register transfer. */
static unsigned char full_state[65536] __attribute__((aligned(64)));

long ptrace(enum __ptrace_request request, ...)
{
	static ptrace_fn real;
	va_list ap;
	pid_t pid;
	void *addr, *data;

	va_start(ap, request);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);

	if (!real)
		real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");

	if (request == PTRACE_SETREGSET && (uintptr_t)addr == NT_X86_XSTATE && data) {
		struct iovec *in = data;
		struct iovec full = { full_state, sizeof(full_state) };
		long ret = real(PTRACE_GETREGSET, pid, addr, &full);

		if (ret == 0 && in->iov_len < full.iov_len &&
		    in->iov_len >= XSTATE_BV_OFFSET + sizeof(uint64_t)) {
			uint64_t cur_bv, uml_bv;

			memcpy(&cur_bv, full_state + XSTATE_BV_OFFSET, sizeof(cur_bv));
			memcpy(&uml_bv, (unsigned char *)in->iov_base + XSTATE_BV_OFFSET,
			       sizeof(uml_bv));
			memcpy(full_state, in->iov_base, in->iov_len);
			uml_bv = (uml_bv & UML_KNOWN_FEATURES) | (cur_bv & ~UML_KNOWN_FEATURES);
			memcpy(full_state + XSTATE_BV_OFFSET, &uml_bv, sizeof(uml_bv));
			return real(PTRACE_SETREGSET, pid, addr, &full);
		}
	}
	return real(request, pid, addr, data);
}
