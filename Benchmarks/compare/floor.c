/* Floors for compare.sh: the least work any analysis of these files must do.
 *
 *   floor decode FILE...        libsndfile, sf_readf_short in 8192-frame blocks, nothing else
 *   floor fft HOP_MS FILE...    the same, plus per channel a Hann-windowed 256-point FFTW r2c
 *                               (single precision, plan made once) every HOP_MS milliseconds and
 *                               the power summed: TalkTrace's spectral front end with no features
 *   FILE may be @LIST: a text file naming one recording per line (for a whole batch).
 *
 *   floor wisdom PATH           measure the fastest 256-point r2c plan once and save FFTW's wisdom
 *
 * A floor must be a floor: the fastest transform at no planning cost. With FLOOR_WISDOM=PATH (what
 * compare.sh sets, after `floor wisdom PATH`), the plan is FFTW_MEASURE's fastest real transform
 * (111 ns for 256 points here) read from saved wisdom, so the 46 ms that measuring takes is not
 * timed in every run (it was, and made TalkTrace look faster than its floor). Without wisdom the
 * plan is FFTW_ESTIMATE's (no planning, a slower transform). (TalkTrace pairs frames in one complex
 * FFTW_ESTIMATE transform: 57 ns a frame.) Built by compare.sh into its work directory, vectorized
 * (the window and power loops):
 *   cc -O3 -march=native -ffast-math floor.c $(pkg-config --cflags --libs sndfile fftw3f) -lm
 */
#include <fftw3.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 8192
#define N 256

static double checksum;

static int run(const char *path, int hop_ms) {
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) { fprintf(stderr, "floor: %s: %s\n", path, sf_strerror(NULL)); return 1; }
    int ch = info.channels;
    short *block = malloc(sizeof(short) * BLOCK * ch);
    sf_count_t n, frames = 0;
    if (hop_ms <= 0) {
        while ((n = sf_readf_short(f, block, BLOCK)) > 0) { frames += n; checksum += block[0]; }
    } else {
        /* Per channel: a float buffer holding the last N - hop samples and the new block; every
         * hop, window N samples into the FFT input, transform, sum the power. */
        static float *in, *win, *buf[2];
        static fftwf_complex *out;
        static fftwf_plan plan;
        if (!plan) {
            in = fftwf_alloc_real(N); out = fftwf_alloc_complex(N / 2 + 1); win = malloc(sizeof(float) * N);
            for (int i = 0; i < N; i++) win[i] = 0.5f - 0.5f * cosf(2 * (float)M_PI * (i + 0.5f) / N);
            for (int c = 0; c < 2; c++) buf[c] = malloc(sizeof(float) * (N + BLOCK));
            const char *wisdom = getenv("FLOOR_WISDOM");
            int have_wisdom = wisdom && fftwf_import_wisdom_from_filename(wisdom);
            /* With wisdom, FFTW_MEASURE finds the measured plan at once (WISDOM_ONLY makes sure). */
            plan = have_wisdom ? fftwf_plan_dft_r2c_1d(N, in, out, FFTW_MEASURE | FFTW_WISDOM_ONLY) : NULL;
            if (!plan) plan = fftwf_plan_dft_r2c_1d(N, in, out, FFTW_ESTIMATE);
        }
        int hop = info.samplerate * hop_ms / 1000, cc = ch < 2 ? ch : 2;
        int have = N - hop;  /* samples in buf before the block: the first window is centred on the first hop */
        for (int c = 0; c < 2; c++) memset(buf[c], 0, sizeof(float) * N);
        while ((n = sf_readf_short(f, block, BLOCK)) > 0) {
            frames += n;
            for (int c = 0; c < cc; c++)
                for (sf_count_t i = 0; i < n; i++) buf[c][have + i] = block[i * ch + c] * (1.0f / 32768);
            int total = have + (int)n, at = 0;
            for (; at + N <= total; at += hop) {
                for (int c = 0; c < cc; c++) {
                    const float *x = buf[c] + at;
                    for (int k = 0; k < N; k++) in[k] = x[k] * win[k];
                    fftwf_execute(plan);
                    float p = 0;
                    for (int k = 0; k <= N / 2; k++) p += out[k][0] * out[k][0] + out[k][1] * out[k][1];
                    checksum += p;
                }
            }
            for (int c = 0; c < cc; c++) memmove(buf[c], buf[c] + at, sizeof(float) * (total - at));
            have = total - at;
        }
    }
    free(block);
    sf_close(f);
    return frames > 0 ? 0 : 1;
}

static int each(const char *arg, int hop_ms) {
    if (arg[0] != '@') return run(arg, hop_ms);
    FILE *list = fopen(arg + 1, "r");
    if (!list) { perror(arg + 1); return 1; }
    char line[4096];
    int bad = 0;
    while (fgets(line, sizeof line, list)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0]) bad |= run(line, hop_ms);
    }
    fclose(list);
    return bad;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "wisdom")) {
        float *in = fftwf_alloc_real(N);
        fftwf_complex *out = fftwf_alloc_complex(N / 2 + 1);
        fftwf_plan plan = fftwf_plan_dft_r2c_1d(N, in, out, FFTW_MEASURE);
        if (!plan || !fftwf_export_wisdom_to_filename(argv[2])) { fprintf(stderr, "floor: cannot save wisdom to %s\n", argv[2]); return 1; }
        return 0;
    }
    if (argc < 3 || (strcmp(argv[1], "decode") && strcmp(argv[1], "fft")) || (!strcmp(argv[1], "fft") && argc < 4)) {
        fprintf(stderr, "usage: floor decode FILE... | floor fft HOP_MS FILE... | floor wisdom PATH  (FILE may be @LIST)\n");
        return 2;
    }
    int hop_ms = strcmp(argv[1], "fft") ? 0 : atoi(argv[2]);
    int bad = 0;
    for (int i = hop_ms ? 3 : 2; i < argc; i++) bad |= each(argv[i], hop_ms);
    printf("%g\n", checksum);
    return bad;
}
