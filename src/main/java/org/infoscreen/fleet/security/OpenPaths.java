package org.infoscreen.fleet.security;

import java.util.ArrayList;
import java.util.List;

/**
 * Paths served without a token: the health endpoints ({@code /observe/health} and everything under
 * it, any method) and the static dashboard files (GET and HEAD only), configured as a list of exact
 * paths and prefixes ending in {@code /*}, e.g. {@code /,/index.html,/favicon.ico,/assets/*}.
 * Nothing under {@code /api} or {@code /observe} other than health can be opened.
 */
public final class OpenPaths {

    /** Health endpoints: always open, they reveal nothing sensitive. */
    public static final String HEALTH = "/observe/health";

    private final List<String> exact = new ArrayList<>();
    private final List<String> prefixes = new ArrayList<>();

    /**
     * @param spec comma-separated exact paths and {@code /prefix/*} entries
     * @throws IllegalArgumentException for an entry that does not start with {@code /}, contains
     *                                  {@code ..} or lies under {@code /api} or {@code /observe}
     */
    public OpenPaths(String spec) {
        for (String raw : spec == null ? new String[0] : spec.split(",")) {
            String p = raw.strip();
            if (p.isEmpty()) {
                continue;
            }
            String base = p.endsWith("/*") ? p.substring(0, p.length() - 1) : p;
            if (!p.startsWith("/") || p.contains("..") || p.contains("*") && !p.endsWith("/*") || p.indexOf('*') != p.lastIndexOf('*')
                    || under(base, "/api") || under(base, "/observe") || "/*".equals(p)) {
                throw new IllegalArgumentException("API_OPEN_PATHS entry '" + p + "': use exact paths or /prefix/* outside /api and /observe");
            }
            if (p.endsWith("/*")) {
                prefixes.add(base);
            } else {
                exact.add(p);
            }
        }
    }

    /** @return whether a normalized path is a health endpoint ({@code /observe/health} or under it) */
    public static boolean isHealth(String path) {
        return under(path, HEALTH);
    }

    private static boolean under(String path, String root) {
        return path.equals(root) || path.startsWith(root + "/");
    }

    /**
     * @param method HTTP method
     * @param path   normalized request path
     * @return whether the request needs no token
     */
    public boolean isOpen(String method, String path) {
        if (under(path, HEALTH)) {
            return true;
        }
        if (!"GET".equals(method) && !"HEAD".equals(method)) {
            return false;
        }
        if (exact.contains(path)) {
            return true;
        }
        for (String prefix : prefixes) {
            if (path.startsWith(prefix) && path.length() > prefix.length()) {
                return true;
            }
        }
        return false;
    }
}
