package org.infoscreen.fleet.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The API tokens the service accepts, as hashes ({@link ApiToken}), and the authentication of a
 * presented bearer token against them.
 *
 * <p>Configuration text: entries {@code name:role:sha256:<hex>} separated by new lines or commas;
 * blank lines and lines starting with {@code #} are ignored. One name may appear more than once
 * with the same role (an old and a new token during a rotation), never with two roles.
 *
 * <p>When the tokens come from a file ({@code API_TOKENS_FILE}), the file is read again when its
 * modification time or size changes (checked at most every {@value #RELOAD_CHECK_MS} ms, on
 * requests), so tokens can be added, rotated and revoked without a restart. A file that no longer
 * parses is reported at WARN and the tokens loaded before stay in force.
 */
public final class TokenStore {

    /** Minimum interval between two checks of the tokens file, milliseconds. */
    public static final long RELOAD_CHECK_MS = 2_000;
    /** Longest bearer token looked at; longer ones are refused without hashing. */
    static final int MAX_TOKEN_CHARS = 512;

    private static final Logger LOG = LoggerFactory.getLogger(TokenStore.class);

    private final String source;
    private final Path file;
    private volatile List<ApiToken> tokens;
    private volatile FileTime fileTime;
    private volatile long fileSize;
    private volatile long nextCheckNanos;

    private TokenStore(String source, Path file, List<ApiToken> tokens) {
        this.source = source;
        this.file = file;
        this.tokens = List.copyOf(tokens);
    }

    /**
     * @param source name of the source for messages, e.g. {@code API_TOKENS}
     * @param tokens the tokens
     * @return a store that never changes
     */
    public static TokenStore of(String source, List<ApiToken> tokens) {
        return new TokenStore(source, null, tokens);
    }

    /**
     * @param file the tokens file ({@code API_TOKENS_FILE})
     * @return a store that follows changes of the file
     * @throws IllegalArgumentException when the file cannot be read or an entry is malformed (the
     *                                  message names the file and the entry number, never its content)
     */
    public static TokenStore ofFile(Path file) {
        TokenStore store = new TokenStore("API_TOKENS_FILE " + file, file, List.of());
        store.tokens = store.readFile();
        return store;
    }

    /**
     * @param text   configuration text (see the class comment)
     * @param source name of the source for error messages
     * @return the entries
     * @throws IllegalArgumentException for a malformed entry, naming the source and the entry number only
     */
    public static List<ApiToken> parse(String text, String source) {
        List<ApiToken> out = new ArrayList<>();
        Map<String, Role> roles = new HashMap<>();
        if (text == null) {
            return out;
        }
        int n = 0;
        for (String line : text.split("[\\r\\n,]+")) {
            String entry = line.strip();
            if (entry.isEmpty() || entry.startsWith("#")) {
                continue;
            }
            n++;
            String[] parts = entry.split(":", -1);
            if (parts.length != 4 || !"sha256".equals(parts[2]) || !parts[3].matches("[0-9a-fA-F]{64}")) {
                // never echo the entry: it may be a plaintext token pasted by mistake
                throw new IllegalArgumentException(source + ": entry " + n
                        + " is not name:role:sha256:<64 hex digits> (make one with the 'token' command)");
            }
            ApiToken token;
            try {
                token = new ApiToken(parts[0], Role.of(parts[1]), HexFormat.of().parseHex(parts[3]));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": entry " + n + ": " + e.getMessage());
            }
            Role before = roles.putIfAbsent(token.name(), token.role());
            if (before != null && before != token.role()) {
                throw new IllegalArgumentException(source + ": token name '" + token.name()
                        + "' appears with two roles (" + before.id() + ", " + token.role().id() + ")");
            }
            out.add(token);
        }
        return out;
    }

    /**
     * Finds the token whose hash equals the hash of {@code presented}. Every entry is compared in
     * constant time and the loop never stops early, so timing reveals neither the hash nor which
     * entry matched.
     *
     * @param presented the bearer token from the request
     * @return the matching token, or empty
     */
    public Optional<ApiToken> authenticate(String presented) {
        reloadIfChanged();
        if (presented == null || presented.isEmpty() || presented.length() > MAX_TOKEN_CHARS) {
            return Optional.empty();
        }
        byte[] hash = ApiToken.hash(presented);
        ApiToken found = null;
        for (ApiToken t : tokens) {
            if (t.matches(hash) && found == null) {
                found = t;
            }
        }
        return Optional.ofNullable(found);
    }

    /** @return the tokens in force (hashes only) */
    public List<ApiToken> tokens() {
        reloadIfChanged();
        return tokens;
    }

    /** @return the source named in messages ({@code API_TOKENS}, {@code API_TOKENS_FILE <path>}, ...) */
    public String source() {
        return source;
    }

    private void reloadIfChanged() {
        if (file == null || System.nanoTime() - nextCheckNanos < 0) {
            return;
        }
        synchronized (this) {
            if (System.nanoTime() - nextCheckNanos < 0) {
                return;
            }
            nextCheckNanos = System.nanoTime() + RELOAD_CHECK_MS * 1_000_000;
            try {
                if (Files.getLastModifiedTime(file).equals(fileTime) && Files.size(file) == fileSize) {
                    return;
                }
                List<ApiToken> reloaded = readFile();
                tokens = reloaded;
                LOG.info("API tokens reloaded from {}: {} token(s) {}", file, reloaded.size(), names(reloaded));
            } catch (IOException | RuntimeException e) {
                LOG.warn("API tokens file {} could not be reloaded ({}); the {} token(s) loaded before stay in force",
                        file, e.getMessage(), tokens.size());
            }
        }
    }

    private List<ApiToken> readFile() {
        try {
            FileTime time = Files.getLastModifiedTime(file);
            long size = Files.size(file);
            List<ApiToken> parsed = parse(Files.readString(file), source);
            fileTime = time;
            fileSize = size;
            nextCheckNanos = System.nanoTime() + RELOAD_CHECK_MS * 1_000_000;
            return parsed;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + source + " (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** @return the names and roles, e.g. {@code [ops (operator), dash (viewer)]}, for the log */
    static List<String> names(List<ApiToken> tokens) {
        return tokens.stream().map(t -> t.name() + " (" + t.role().id() + ")").distinct().toList();
    }
}
