package org.infoscreen.fleet.logging;

import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.lookup.StrLookup;
import org.apache.logging.log4j.status.StatusLogger;

import java.util.Locale;

/**
 * Log4j lookup {@code ${logFormat:}} for log4j2.xml: the console format from the system property
 * or environment variable {@code LOG_FORMAT}, case-insensitive ({@code JSON} = {@code json}),
 * {@code text} when unset. An unknown value logs as {@code text} and prints one warning naming
 * the accepted values (Log4j's status logger, standard error), instead of referring to an
 * appender that does not exist, which silenced every log line.
 */
@Plugin(name = "logFormat", category = StrLookup.CATEGORY)
public final class LogFormatLookup implements StrLookup {

    /** Formats log4j2.xml has an appender {@code console-<format>} for. */
    static final java.util.List<String> FORMATS = java.util.List.of("text", "json");

    private static volatile String warned;

    @Override
    public String lookup(String key) {
        return resolve(System.getProperty("LOG_FORMAT", System.getenv("LOG_FORMAT")));
    }

    @Override
    public String lookup(LogEvent event, String key) {
        return lookup(key);
    }

    /**
     * @param raw the configured value ({@code LOG_FORMAT}), {@code null} when unset
     * @return {@code text} or {@code json}
     */
    static String resolve(String raw) {
        if (raw == null || raw.isBlank()) {
            return "text";
        }
        String format = raw.strip().toLowerCase(Locale.ROOT);
        if (FORMATS.contains(format)) {
            return format;
        }
        if (!raw.equals(warned)) {
            warned = raw;
            StatusLogger.getLogger().warn("LOG_FORMAT '{}' is neither text nor json: logging as text", raw);
        }
        return "text";
    }
}
