/*
 * ringprof/atomic.h - the only place that spells memory ordering.
 *
 * Shared-memory fields are plain fixed-width integers; every access from
 * either side of the ring goes through these macros, which expand to the
 * __atomic builtins so that C and C++ translation units generate the same
 * loads and stores on the same objects.  Each call site names the access it
 * pairs with.  There is deliberately no seq_cst variant.
 */
#ifndef RINGPROF_ATOMIC_H
#define RINGPROF_ATOMIC_H

#include <stdint.h>

#if !defined(__GNUC__) && !defined(__clang__)
#error "ringprof needs the GCC/Clang __atomic builtins"
#endif

/* Shared memory is mapped at different addresses in different processes:
 * only lock-free (hence address-free) atomics may live there. */
#ifdef __cplusplus
static_assert(__atomic_always_lock_free(sizeof(uint32_t), 0), "u32 atomics must be lock-free");
static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0), "u64 atomics must be lock-free");
#else
_Static_assert(__atomic_always_lock_free(sizeof(uint32_t), 0), "u32 atomics must be lock-free");
_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0), "u64 atomics must be lock-free");
#endif

#define rp_load_acquire(p)      __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define rp_load_relaxed(p)      __atomic_load_n((p), __ATOMIC_RELAXED)
#define rp_store_release(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define rp_store_relaxed(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define rp_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define rp_fetch_add_acq_rel(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
/* Strong CAS; on failure *(expected) receives the current value (acquire). */
#define rp_cas_acq_rel(p, expected, desired) \
	__atomic_compare_exchange_n((p), (expected), (desired), 0, \
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

#endif /* RINGPROF_ATOMIC_H */
