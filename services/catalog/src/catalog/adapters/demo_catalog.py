"""The demo catalog loaded at start when ``CATALOG_SEED_DEMO`` is true: 8 categories, 72 products.

SKUs are written out rather than numbered by position, so adding an item never renumbers the
others (the seed is matched to existing rows by SKU). Prices are EUR cents.
"""

from __future__ import annotations

from datetime import datetime

from catalog.domain.money import Money
from catalog.domain.products import Category, Product
from catalog.service.seeding import CatalogSeed
from chassis.ids import new_id

__all__ = ["DEMO_CURRENCY", "demo_catalog"]

DEMO_CURRENCY = "EUR"

# (slug, name, ((sku, name, price in cents, description), ...))
_DEMO: tuple[tuple[str, str, tuple[tuple[str, str, int, str], ...]], ...] = (
    ("coffee-tea", "Coffee & Tea", (
        ("COF-0001", "Ethiopian Yirgacheffe Beans 250 g", 1290,
         "Washed single-origin arabica with notes of bergamot, jasmine and lemon. Light roast."),
        ("COF-0002", "Colombian Huila Beans 1 kg", 3450,
         "Medium roast from smallholder farms in Huila: caramel, red apple and milk chocolate."),
        ("COF-0003", "Espresso Blend Beans 500 g", 1690,
         "Brazil and Sumatra blend roasted dark for a thick crema and a long cocoa finish."),
        ("COF-0004", "Decaf Swiss Water Beans 250 g", 1150,
         "Chemical-free decaffeinated Peruvian beans that still taste of hazelnut and toffee."),
        ("COF-0005", "Japanese Sencha Loose Leaf 100 g", 1490,
         "Steamed green tea from Shizuoka, grassy and sweet; brew at 70 °C for one minute."),
        ("COF-0006", "Assam Breakfast Tea 200 g", 890,
         "Malty, full-bodied black tea that stands up to milk. Loose leaf, resealable pouch."),
        ("COF-0007", "Earl Grey Crème Tea 100 g", 990,
         "Ceylon black tea with natural bergamot oil and a touch of vanilla, for a creamy cup."),
        ("COF-0008", "Ceremonial Matcha 30 g", 2490,
         "Stone-ground first-harvest tencha from Uji. Vivid green, smooth, no bitterness."),
        ("COF-0009", "Rooibos Vanilla Herbal Tea 150 g", 790,
         "Caffeine-free South African red bush with Madagascan vanilla pieces."),
    )),
    ("kitchen", "Kitchen", (
        ("KIT-0001", "Cast Iron Skillet 26 cm", 4990,
         "Pre-seasoned cast iron pan that goes from hob to oven; gets better with every use."),
        ("KIT-0002", "Chef's Knife 20 cm", 8900,
         "Forged high-carbon stainless steel, full tang, hand-sharpened to a 15° edge."),
        ("KIT-0003", "End-Grain Walnut Cutting Board", 6400,
         "Kind to knife edges and heavy enough not to slide. Oiled with food-safe mineral oil."),
        ("KIT-0004", "Pour-Over Coffee Dripper", 2490,
         "Ceramic cone dripper with spiral ribs for an even extraction; fits size 02 filters."),
        ("KIT-0005", "Stovetop Espresso Maker 6 Cups", 3490,
         "Classic aluminium moka pot with a heat-resistant handle; for gas and electric hobs."),
        ("KIT-0006", "Digital Kitchen Scale", 2290,
         "Weighs to 0.1 g up to 5 kg with a tare button and a timer for brewing coffee."),
        ("KIT-0007", "Enamelled Dutch Oven 5 L", 11900,
         "Heavy cast iron casserole with a tight lid for slow braises, stews and bread."),
        ("KIT-0008", "Crème Brûlée Torch", 2990,
         "Refillable butane torch with an adjustable flame and safety lock for caramelising."),
        ("KIT-0009", "Linen Tea Towels, Set of 3", 2400,
         "Stonewashed European linen that dries glasses without lint and softens with washing."),
    )),
    ("books", "Books", (
        ("BOK-0001", "Designing Data-Intensive Applications", 4290,
         "Martin Kleppmann on the ideas behind reliable, scalable and maintainable systems."),
        ("BOK-0002", "Architecture Patterns with Python", 3990,
         "Percival and Gregory on domain-driven design, repositories, unit of work and events."),
        ("BOK-0003", "Release It! Second Edition", 3690,
         "Michael Nygard's field guide to circuit breakers, bulkheads and surviving production."),
        ("BOK-0004", "Building Microservices, 2nd Edition", 4590,
         "Sam Newman on modelling services, splitting monoliths and deploying independently."),
        ("BOK-0005", "The Pragmatic Programmer", 3890,
         "Twentieth-anniversary edition of the classic on craft, care and career in software."),
        ("BOK-0006", "Salt, Fat, Acid, Heat", 3200,
         "Samin Nosrat's illustrated cookbook on the four elements of good cooking."),
        ("BOK-0007", "The World Atlas of Coffee", 2990,
         "James Hoffmann travels from bean to cup: origins, processing, roasting and brewing."),
        ("BOK-0008", "A Field Guide to Mushrooms of Europe", 2450,
         "Pocket-sized guide to over 400 species, with photographs and look-alike warnings."),
        ("BOK-0009", "Thinking in Systems", 1990,
         "Donella Meadows' primer on stocks, flows and feedback loops, and why systems surprise."),
    )),
    ("electronics", "Electronics", (
        ("ELE-0001", "Noise-Cancelling Headphones", 24900,
         "Over-ear wireless headphones with adaptive noise cancelling and 30 hours of battery."),
        ("ELE-0002", "Mechanical Keyboard, Tenkeyless", 12900,
         "Hot-swappable tactile switches, PBT keycaps and a detachable USB-C cable."),
        ("ELE-0003", "USB-C Charger 65 W", 4490,
         "Two-port GaN charger that powers a laptop and a phone at once; folding plug."),
        ("ELE-0004", "Portable SSD 1 TB", 11900,
         "Pocket-sized NVMe drive with up to 1,050 MB/s over USB 3.2, drop-resistant casing."),
        ("ELE-0005", "E-Reader with Warm Light", 14900,
         "Glare-free 7-inch display, adjustable warm light and weeks of reading per charge."),
        ("ELE-0006", "Bluetooth Speaker, Waterproof", 7900,
         "IP67 speaker that floats, with 12 hours of play and a strap for the handlebar."),
        ("ELE-0007", "Smart LED Bulb E27, Pack of 2", 2990,
         "Dimmable white and colour bulbs that run on a schedule; no hub required."),
        ("ELE-0008", "Wireless Mouse, Silent Click", 3490,
         "Quiet ergonomic mouse that pairs with three devices and runs for months on one battery."),
        ("ELE-0009", "Raspberry Pi 5 Starter Kit", 13900,
         "Board with 8 GB of RAM, active cooler, case, 27 W power supply and a 64 GB card."),
    )),
    ("outdoor", "Outdoor", (
        ("OUT-0001", "Ultralight Two-Person Tent", 32900,
         "Freestanding three-season tent at 1.4 kg, with two doors and a full-coverage fly."),
        ("OUT-0002", "Down Sleeping Bag -5 °C", 27900,
         "Responsibly sourced 700-fill down in a mummy cut; packs to the size of a loaf."),
        ("OUT-0003", "Trekking Poles, Carbon", 11900,
         "Three-section folding poles with cork grips and tungsten tips; 220 g each."),
        ("OUT-0004", "Insulated Water Bottle 750 ml", 3290,
         "Double-wall stainless steel keeps drinks cold for 24 hours and hot for 12."),
        ("OUT-0005", "Headlamp 400 Lumens", 3990,
         "Rechargeable headlamp with red night mode and a lock so it never switches on in a pack."),
        ("OUT-0006", "Camping Stove, Compact", 4990,
         "Folding canister stove that boils a litre in three minutes; piezo ignition."),
        ("OUT-0007", "Merino Hiking Socks, 2 Pairs", 2790,
         "Cushioned merino wool blend that stays warm when wet and does not smell after days out."),
        ("OUT-0008", "Daypack 25 L", 8900,
         "Ventilated back panel, hip belt, rain cover and a sleeve for a hydration bladder."),
        ("OUT-0009", "Folding Camp Chair", 5490,
         "Aluminium frame chair that packs into its own bag and holds up to 120 kg."),
    )),
    ("home", "Home", (
        ("HOM-0001", "Wool Throw Blanket", 8900,
         "Woven from undyed Shetland wool in a herringbone pattern; 130 by 180 cm."),
        ("HOM-0002", "Linen Duvet Cover, Double", 12900,
         "Breathable stonewashed linen that keeps you cool in summer and warm in winter."),
        ("HOM-0003", "Ceramic Table Lamp", 9900,
         "Hand-glazed stoneware base with a linen shade and a dimmable E27 fitting."),
        ("HOM-0004", "Scented Candle, Fig & Cedar", 2890,
         "Soy wax candle in a reusable glass jar; burns cleanly for about 50 hours."),
        ("HOM-0005", "Cotton Bath Towel Set", 5900,
         "Two bath towels and two hand towels in heavy 600 g/m² organic cotton terry."),
        ("HOM-0006", "Wall Clock, Oak", 6490,
         "Silent sweep movement in a solid oak frame; 30 cm across, no ticking at night."),
        ("HOM-0007", "Indoor Plant Pot with Saucer", 2190,
         "Matte terracotta pot with a drainage hole, sized for a 17 cm nursery pot."),
        ("HOM-0008", "Doormat, Coir", 3490,
         "Natural coconut fibre mat with a rubber backing that scrapes boots clean."),
        ("HOM-0009", "Storage Baskets, Seagrass, Set of 3", 4590,
         "Handwoven nesting baskets for blankets, toys or firewood."),
    )),
    ("stationery", "Stationery", (
        ("STA-0001", "Dot Grid Notebook A5", 1890,
         "192 numbered pages of 100 g/m² paper that takes fountain pen ink without bleeding."),
        ("STA-0002", "Fountain Pen, Medium Nib", 3490,
         "Steel nib, piston-free converter and a clear barrel so you can see the ink level."),
        ("STA-0003", "Bottled Ink, Blue-Black 50 ml", 1290,
         "Water-resistant iron gall ink that darkens as it dries; safe for modern pens."),
        ("STA-0004", "Mechanical Pencil 0.5 mm", 990,
         "All-metal drafting pencil with a knurled grip and a retractable lead sleeve."),
        ("STA-0005", "Weekly Planner, Undated", 2290,
         "Fifty-two week spreads with a habit tracker, linen cover and two ribbon markers."),
        ("STA-0006", "Washi Tape, Set of 10", 1190,
         "Japanese paper masking tape in muted colours; tears by hand and lifts cleanly."),
        ("STA-0007", "Brass Desk Ruler 30 cm", 1990,
         "Solid brass with metric engraving and a cork back so it does not slip."),
        ("STA-0008", "Kraft Envelopes C6, Pack of 50", 790,
         "Recycled brown kraft envelopes with a gummed flap, for cards and letters."),
        ("STA-0009", "Sketchbook A4, 120 g/m²", 1590,
         "Lay-flat sewn binding and acid-free cream paper for pencil, ink and light wash."),
    )),
    ("pantry", "Pantry", (
        ("PAN-0001", "Extra Virgin Olive Oil 750 ml", 1690,
         "Cold-pressed Koroneiki olives from Crete: peppery, green and fresh. Harvest dated."),
        ("PAN-0002", "Sea Salt Flakes 250 g", 590,
         "Pyramid-shaped flakes harvested by hand on the Atlantic coast; for finishing."),
        ("PAN-0003", "Dark Chocolate 72% Bar", 390,
         "Single-origin Peruvian cacao with notes of red fruit; 100 g, bean to bar."),
        ("PAN-0004", "Wildflower Honey 500 g", 1190,
         "Raw, unfiltered honey from beekeepers in the Pyrenees; it crystallises naturally."),
        ("PAN-0005", "Bronze-Cut Spaghetti 1 kg", 490,
         "Durum wheat pasta drawn through bronze dies and dried slowly, so sauce clings to it."),
        ("PAN-0006", "Smoked Paprika 75 g", 450,
         "Pimentón de la Vera, oak-smoked sweet paprika in a resealable tin."),
        ("PAN-0007", "Arborio Rice 1 kg", 390,
         "Italian short-grain rice for creamy risotto; holds its bite when cooked."),
        ("PAN-0008", "Maple Syrup, Grade A Dark 250 ml", 1390,
         "Pure Québec maple syrup with a robust taste for pancakes, porridge and baking."),
        ("PAN-0009", "Café de Olla Spice Mix 80 g", 690,
         "Cinnamon, clove and piloncillo sugar to brew Mexican pot coffee at home."),
    )),
)


def demo_catalog(now: datetime) -> CatalogSeed:
    """The demo categories and products, stamped ``now``, each product with a fresh id."""
    categories = [Category(slug=slug, name=name) for slug, name, _ in _DEMO]
    products = [
        Product(id=new_id(), sku=sku, name=name, description=description,
                price=Money(cents, DEMO_CURRENCY), category=slug, created_at=now, updated_at=now)
        for slug, _, items in _DEMO
        for sku, name, cents, description in items
    ]
    return CatalogSeed(categories=categories, products=products)
