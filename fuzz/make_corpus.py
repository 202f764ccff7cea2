#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/<target>/ (small, valid or nearly valid inputs).
Self-contained (no simdmf build needed): the binary layouts follow lib/io/model_file.cpp and
lib/io/loaders.hpp. Run from anywhere: python3 fuzz/make_corpus.py"""
import os, struct, zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# --- fuzz_text_loader: byte 0 = format (0 auto, 1 u.data, 2 .dat, 3 .csv, 4 libmf, 5 delimited) and
# flags (8 no id maps, 16 timestamps, 32 skip bad lines, 64 header); byte 1 delimiter; byte 2 columns.
COLS = bytes([0 | (1 << 2) | (2 << 4) | (0 << 6)])         # user 0, item 1, value 2, no time
COLS_T = bytes([0 | (1 << 2) | (2 << 4) | (3 << 6)])       # ... time column 2 (3 - 1)
texts = {
    'auto_udata': (0, ',', COLS, '196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n'),
    'udata_ts': (1 | 16, ',', COLS, '1\t1\t5\t874965758\n1\t2\t3\t876893171\r\n2\t1\t4\t888550871'),
    'dat': (2, ',', COLS, '1::1193::5::978300760\n1::661::3::978302109\n# comment\n\n2::1357::5::978298709\n'),
    'csv_header': (3 | 16, ',', COLS, 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n'),
    'libmf': (4, ',', COLS, '0 0 3.5\n0 1 -1\n5 2 1e3\n   7\t3 +2.25\n'),
    'libmf_bad': (4 | 32, ',', COLS, '0 0 3\n-1 2 3\nx y z\n4294967295 0 1\n1 1 nan\n'),
    'delimited_semicolon': (5 | 64, ';', COLS, 'u;i;r\n10; 20 ;0.5\n-3;7;1\n'),
    'delimited_ts': (5 | 16, '|', COLS_T, '1|2|3|4\n5|6|7|8\n'),
    'bom_crlf': (0 | 8, ',', COLS, '\ufeff1 2 3\r\n4 5 6\r\n'),
    'huge_ids': (1, ',', COLS, '9223372036854775807\t-9223372036854775808\t1\t0\n4000000000\t1\t2\t0\n'),
}
for name, (fmt, delim, cols, body) in texts.items():
    put('fuzz_text_loader', name, bytes([fmt]) + delim.encode() + cols + body.encode('utf-8'))


# --- fuzz_binary_ratings: "\x89SMR\r\n\x1a\n" files.
def smr(users, items, values, n_users, n_items, ts=None, umap=None, imap=None):
    n = len(values)
    flags = (1 if ts else 0) | (2 if umap else 0) | (4 if imap else 0)
    h = b'\x89SMR\r\n\x1a\n' + struct.pack('<IIQIIQQ', 1, flags, n, n_users, n_items,
                                           len(umap or []), len(imap or []))
    h += struct.pack('<II', crc32c(h), 0)
    p = struct.pack(f'<{n}I', *users) + struct.pack(f'<{n}I', *items) + struct.pack(f'<{n}f', *values)
    if ts:
        p += struct.pack(f'<{n}q', *ts)
    if umap:
        p += struct.pack(f'<{len(umap)}q', *umap)
    if imap:
        p += struct.pack(f'<{len(imap)}q', *imap)
    return h + p + struct.pack('<I', crc32c(p)) + b'SMRE'


put('fuzz_binary_ratings', 'plain', smr([0, 1, 2], [1, 0, 1], [1.0, 2.5, 5.0], 3, 2))
put('fuzz_binary_ratings', 'maps_ts', smr([0, 1], [0, 0], [3.0, 4.0], 2, 1, ts=[100, 200],
                                          umap=[196, -7], imap=[242]))
put('fuzz_binary_ratings', 'empty', smr([], [], [], 0, 0))

# --- fuzz_model_file: model file v1.
def model(kind, k, nu, ni, biases, umap=None, imap=None, mu=3.5):
    flags = (1 if biases else 0) | (2 if umap else 0) | (4 if imap else 0)
    payload = b''
    if biases:
        payload += struct.pack(f'<{nu + ni}f', *[0.1 * (j % 7) for j in range(nu + ni)])
    payload += struct.pack(f'<{(nu + ni) * k}f', *[((j * 37) % 11 - 5) / 10 for j in range((nu + ni) * k)])
    if umap:
        payload += struct.pack(f'<{nu}q', *umap)
    if imap:
        payload += struct.pack(f'<{ni}q', *imap)
    b = b'SIMDMFMD' + struct.pack('<II', 1, 32) + struct.pack('<IIIIIfQ', kind, k, nu, ni, flags, mu, len(payload))
    b += payload
    return b + struct.pack('<I', zlib.crc32(b) & 0xFFFFFFFF)


put('fuzz_model_file', 'mf_biases', model(1, 3, 4, 5, True))
put('fuzz_model_file', 'logistic_maps', model(2, 2, 3, 3, False, umap=[10, 20, 30], imap=[-1, -2, -3], mu=0.0))
put('fuzz_model_file', 'k17', model(1, 17, 2, 2, True, umap=[5, 6]))


# --- fuzz_model_file: model file v2 (docs/model_file.md): 64-byte header, 96-byte directory entries,
# sections at multiples of 64 with zero gaps, CRC-32C per section and over header + directory.
def meta(records):
    out = b''
    for key, typ, val in records:
        v = {1: lambda x: struct.pack('<q', x), 2: lambda x: struct.pack('<f', x), 4: lambda x: x.encode()}[typ](val)
        out += struct.pack('<III', len(key), typ, len(v)) + key.encode() + v
    return out


def v2(sections):
    """sections: (name, type, flags, dtype, rows, cols, stride, bytes)."""
    pos = (64 + 96 * len(sections) + 63) // 64 * 64
    offs = []
    for s in sections:
        offs.append(pos)
        end = pos + len(s[7])
        pos = (end + 63) // 64 * 64
    head = b'SIMDMFMD' + struct.pack('<IIIIQQI', 2, 64, len(sections), 96, 64, end, 0) + bytes(16)
    d = b''
    for (name, typ, flags, dtype, rows, cols, stride, body), off in zip(sections, offs):
        d += name.encode().ljust(32, b'\0') + struct.pack('<IIQQIIQQQQ', typ, flags, off, len(body), crc32c(body),
                                                         dtype, rows, cols, stride, 0)
    crc = crc32c(d, crc32c(head))
    out = bytearray(head + struct.pack('<I', crc) + d)
    for (name, typ, flags, dtype, rows, cols, stride, body), off in zip(sections, offs):
        out += bytes(off - len(out)) + body
    return bytes(out)


def mf_v2(loss, k, nu, ni, biases, umap=None, smap=None, extra=()):
    stride = (k + 15) // 16 * 16
    rows = lambda n: b''.join(struct.pack(f'<{k}f', *[((r * 7 + j) % 9 - 4) / 8 for j in range(k)]) + bytes(4 * (stride - k))
                              for r in range(n))
    recs = [('kind', 4, 'mf'), ('loss', 4, loss), ('link', 4, 'sigmoid' if loss == 'logistic' else 'identity'),
            ('n_users', 1, nu), ('n_items', 1, ni), ('min_pred', 2, 1.0 if loss == 'squared' else float('-inf')),
            ('max_pred', 2, 5.0 if loss == 'squared' else float('inf')), ('k', 1, k), ('biases', 1, int(biases)),
            ('mu', 2, 3.5), ('train.k', 4, str(k))]
    secs = [('meta', 1, 1, 0, 0, 0, 0, meta(recs)), ('param.P', 2, 1, 1, nu, k, stride, rows(nu)),
            ('param.Q', 2, 1, 1, ni, k, stride, rows(ni))]
    if biases:
        secs += [('param.bu', 2, 1, 1, nu, 1, 1, struct.pack(f'<{nu}f', *[0.1] * nu)),
                 ('param.bi', 2, 1, 1, ni, 1, 1, struct.pack(f'<{ni}f', *[-0.2] * ni))]
    if umap:
        secs.append(('user_ids', 2, 1, 2, nu, 1, 1, struct.pack(f'<{nu}q', *umap)))
    if smap:
        text = ''.join(smap).encode()
        o = [0]
        for x in smap:
            o.append(o[-1] + len(x.encode()))
        secs.append(('item_ids', 3, 1, 0, ni, 1, 1, struct.pack(f'<{ni + 1}Q', *o) + text))
    return v2(secs + list(extra))


put('fuzz_model_file', 'v2_mf_biases', mf_v2('squared', 3, 4, 5, True))
put('fuzz_model_file', 'v2_logistic_ids', mf_v2('logistic', 2, 3, 3, False, umap=[10, 20, 30], smap=['a', 'bb', 'USER_9']))
put('fuzz_model_file', 'v2_k17_optional', mf_v2('squared', 17, 2, 2, True, extra=[('future.notes', 9, 0, 0, 0, 0, 0, b'xyz')]))
put('fuzz_model_file', 'v2_required_unknown', mf_v2('squared', 1, 1, 1, False, extra=[('future.layer', 2, 1, 1, 1, 1, 1, bytes(4))]))

# --- fuzz_capi_options: ops (0 set, 1 set_string, 2 set_array, 3 get, 4 get_string, 5 NULLs, 6 fit),
# key selector (< 200: dictionary index), then values (< 128: table index, 128..135 specials, else 8 raw bytes).
K = {name: j for j, name in enumerate(['k', 'epochs', 'lr', 'lr_decay', 'l2', 'l2_bias', 'biases', 'init_std',
                                       'seed', 'threads', 'tol', 'patience', 'restore_best', 'exact_loss',
                                       'min_rating', 'max_rating', 'snapshot', 'retry_diverged', 'loss',
                                       'solver', 'schedule', 'lr_list', 'deterministic', 'adagrad', 'grid'])}
S = {name: j for j, name in enumerate(['squared', 'logistic', 'sgd', 'gd', 'constant', 'decay', 'list'])}
raw = lambda x: bytes([255]) + struct.pack('<d', x)
put('fuzz_capi_options', 'fit_default', bytes([6, 0, 0]))
put('fuzz_capi_options', 'set_then_fit', bytes([0, K['k'], 3, 0, K['lr'], 3, 6, 0, 1]))
put('fuzz_capi_options', 'logistic_gd', bytes([1, K['loss'], S['logistic'], 1, K['solver'], S['gd'], 6, 0, 0]))
put('fuzz_capi_options', 'schedule_list', bytes([1, K['schedule'], S['list'], 2, K['lr_list'], 3, 0, 3, 6,
                                                 0, K['threads'], 4, 6, 0, 0]))
put('fuzz_capi_options', 'diverge', bytes([0, K['lr'], 6, 0, K['init_std'], 6, 0, K['l2'], 0, 6, 0, 0]))
# The input that found issue 10, item 1 (lr 3, epochs 1, init_std 10, grid 16 capped to 8, fit without
# validation): finite factors of ~1e30 whose dot products overflow, once returned as OK.
put('fuzz_capi_options', 'nan_scores', bytes([0, K['lr'], 5, 0, K['epochs'], 1, 0, K['init_std'], 6, 0, K['grid'], 7,
                                              6, 0, 0]))
put('fuzz_capi_options', 'range', bytes([0, K['min_rating'], 4, 0, K['max_rating'], 5, 6, 0, 0]) + b'\x00' +
    bytes([K['min_rating']]) + raw(2.0) + bytes([6, 0, 0]))
put('fuzz_capi_options', 'odd_keys', bytes([0, 200, 3]) + b'k\x00' + bytes([3, 3, 4, 0, 4, K['k']]))
print('corpus written to', ROOT)
