package org.infoscreen.fleet.dashboard;

import org.infoscreen.fleet.rest.ApiException;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The files of the built-in dashboard page and its settings ({@code config.json}), for the
 * routes in {@code routes/dashboard.camel.yaml}.
 *
 * <p>Files come only from the class path folder {@code dashboard/} (inside the jar), never from
 * the working directory, and only names of the form {@code name.ext} (lower-case letters, digits,
 * dashes; ext {@code html js css svg png ico}): no sub-folders, no other resource of the jar.
 * Contents are read once and kept in memory (the folder holds a few small files).
 */
public class DashboardAssets {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}\\.(html|js|css|svg|png|ico)");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml",
            "png", "image/png",
            "ico", "image/x-icon");
    private static final String FOLDER = "dashboard/";
    private static final String CONFIG = "config.json";

    private final int refreshIntervalS;
    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    /**
     * @param refreshIntervalS seconds between the page's automatic refreshes ({@code DASHBOARD_REFRESH_S}), 1 to 3600
     * @throws IllegalArgumentException for a value outside 1..3600
     */
    public DashboardAssets(int refreshIntervalS) {
        if (refreshIntervalS < 1 || refreshIntervalS > 3600) {
            throw new IllegalArgumentException("DASHBOARD_REFRESH_S must be 1 to 3600 seconds, not " + refreshIntervalS);
        }
        this.refreshIntervalS = refreshIntervalS;
    }

    /**
     * @param name a file name such as {@code dashboard.js}; {@code config.json} is {@link #config()}
     * @return the file's bytes
     * @throws ApiException 404 {@code not_found} for a name that is not a dashboard file
     */
    public byte[] content(String name) {
        if (CONFIG.equals(name)) {
            return config().getBytes(StandardCharsets.UTF_8);
        }
        // a missing file throws inside computeIfAbsent: nothing is cached for it
        return cache.computeIfAbsent(checked(name), DashboardAssets::load);
    }

    /**
     * @param name a file name accepted by {@link #content(String)}
     * @return its media type, with {@code charset=utf-8} for text
     * @throws ApiException 404 {@code not_found} for a name that is not a dashboard file
     */
    public String contentType(String name) {
        if (CONFIG.equals(name)) {
            return "application/json";
        }
        String checked = checked(name);
        return TYPES.get(checked.substring(checked.lastIndexOf('.') + 1));
    }

    /** @return the page's settings as JSON: {@code {"refresh_interval_s": n}} (seconds) */
    public String config() {
        return "{\"refresh_interval_s\":" + refreshIntervalS + "}";
    }

    private static String checked(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ApiException(404, "not_found", "no such dashboard file");
        }
        return name;
    }

    private static ApiException notFound(String name) {
        return new ApiException(404, "not_found", "no dashboard file " + name);
    }

    private static byte[] load(String name) {
        try (InputStream in = DashboardAssets.class.getClassLoader().getResourceAsStream(FOLDER + name)) {
            if (in == null) {
                throw notFound(name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dashboard file " + name, e);
        }
    }
}
