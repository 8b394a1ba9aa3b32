package org.infoscreen.fleet.logging;

import org.apache.logging.log4j.core.config.plugins.processor.PluginCache;
import org.apache.logging.log4j.core.config.plugins.processor.PluginProcessor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Build step (run by the pom in {@code prepare-package}): merges the Log4j plugin descriptors
 * ({@code Log4j2Plugins.dat}) of every jar on the class path into one file under
 * {@code target/classes}. The shaded jar can hold only one such file; without the merge the JSON
 * Template Layout ({@code LOG_FORMAT=json}) would be missing from it. Log4j's own
 * {@link PluginCache} reads and writes the format. Not used at run time.
 */
public final class Log4jPluginCacheMerger {

    private Log4jPluginCacheMerger() {
    }

    /**
     * @param args the output directory, e.g. {@code target/classes}
     * @throws IOException when a descriptor cannot be read or the merged one written
     */
    public static void main(String[] args) throws IOException {
        PluginCache cache = new PluginCache();
        cache.loadCacheFiles(Log4jPluginCacheMerger.class.getClassLoader().getResources(PluginProcessor.PLUGIN_CACHE_FILE));
        Path out = Path.of(args[0]).resolve(PluginProcessor.PLUGIN_CACHE_FILE);
        Files.createDirectories(out.getParent());
        try (OutputStream o = Files.newOutputStream(out)) {
            cache.writeCache(o);
        }
        int plugins = cache.getAllCategories().values().stream().mapToInt(java.util.Map::size).sum();
        System.out.println("[log4j] merged plugin descriptors: " + plugins + " plugins -> " + out);
    }
}
