package org.infoscreen.fleet.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * One API token as the service keeps it: its name (who; becomes {@code requested_by}), its role
 * and the SHA-256 of the token. The token itself is never stored. Configuration form, one per
 * line: {@code name:role:sha256:<64 hex digits>}.
 *
 * <p>Tokens are 32 random bytes (256 bits) from {@link SecureRandom}, base64url without padding,
 * prefixed {@code fleet_} so secret scanners can find a leaked one. For such high-entropy tokens a
 * plain SHA-256 is the standard storage (as GitHub does for its tokens); a slow password hash
 * adds nothing.
 *
 * @param name   token name, {@code [A-Za-z0-9._@-]{1,64}}
 * @param role   role of the token
 * @param sha256 SHA-256 of the UTF-8 token (32 bytes)
 */
public record ApiToken(String name, Role role, byte[] sha256) {

    /** Prefix of every token this service makes. */
    public static final String PREFIX = "fleet_";
    /** Allowed token names. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@-]{1,64}");

    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * @throws IllegalArgumentException for a bad name or a hash that is not 32 bytes
     */
    public ApiToken {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("token name must be 1-64 of A-Z a-z 0-9 . _ @ -");
        }
        if (role == null) {
            throw new IllegalArgumentException("token role missing");
        }
        if (sha256 == null || sha256.length != 32) {
            throw new IllegalArgumentException("token hash must be 32 bytes (64 hex digits)");
        }
        sha256 = sha256.clone();
    }

    /** @return a new random token: {@code fleet_} + 43 base64url characters (256 bits) */
    public static String newToken() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /**
     * @param token a token as presented by a client
     * @return its SHA-256 (of the UTF-8 bytes)
     */
    public static byte[] hash(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    /**
     * @param name  token name
     * @param role  role
     * @param token the plaintext token
     * @return the entry for {@code API_TOKENS} / {@code API_TOKENS_FILE}: {@code name:role:sha256:<hex>}
     */
    public static String configLine(String name, Role role, String token) {
        return new ApiToken(name, role, hash(token)).configLine();
    }

    /** @return {@code name:role:sha256:<hex>} */
    public String configLine() {
        return name + ":" + role.id() + ":sha256:" + HexFormat.of().formatHex(sha256);
    }

    /**
     * Constant-time comparison of this token's hash with another hash.
     *
     * @param presentedHash SHA-256 of the presented token
     * @return whether they are equal
     */
    public boolean matches(byte[] presentedHash) {
        return MessageDigest.isEqual(sha256, presentedHash);
    }

    @Override
    public byte[] sha256() {
        return sha256.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ApiToken t && t.name.equals(name) && t.role == role && MessageDigest.isEqual(t.sha256, sha256);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + role.hashCode();
    }

    /** @return name and role only, never the hash */
    @Override
    public String toString() {
        return "ApiToken[" + name + ", " + role.id() + "]";
    }
}
